#!/bin/bash -e
# In the image: the kiosk in its own virtual environment (/opt/kiosk), its user, directories and units.
. /usr/lib/kiosk/image.env
cd /opt/kiosk-install
wheel=$(ls kiosk_accueil-*.whl)
if ls wheels/*.whl >/dev/null 2>&1; then
	python3 -m venv /opt/kiosk
	/opt/kiosk/bin/pip install --quiet --no-index --find-links /opt/kiosk-install/wheels "${wheel}"
else
	# No wheelhouse: fetch from PyPI, with what building pyscard needs, removed afterwards.
	apt-get install -y --no-install-recommends python3-dev gcc swig libpcsclite-dev
	python3 -m venv /opt/kiosk
	/opt/kiosk/bin/pip install --quiet "${wheel}"
	apt-get purge -y --auto-remove python3-dev gcc swig libpcsclite-dev
fi
ln -sf /opt/kiosk/bin/kiosk /usr/local/bin/kiosk
rm -rf /opt/kiosk-install /root/.cache/pip

systemd-sysusers /usr/lib/sysusers.d/kiosk.conf
systemd-tmpfiles --create /usr/lib/tmpfiles.d/kiosk.conf

systemctl enable pcscd.socket kiosk-firstboot.service kiosk-params.timer kiosk-sync.timer
if [ "${KIOSK_MODE:-headless}" = "headless" ]; then
	systemctl enable kiosk.service
fi
