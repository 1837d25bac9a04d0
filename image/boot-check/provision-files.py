"""Boot check only: writes a provisioning file and its test certificates (a throw-away test CA) into the
folder given, to be copied onto the boot partition of a test disk. Run from the repository root."""
import sys
import textwrap
from pathlib import Path

from drivers.sim.pki import ORG_CA_TEST, Authority

boot = Path(sys.argv[1])
ca = Authority.create(ORG_CA_TEST)
ca.pkcs12_file(boot / "auth.p12", "INSI-AUTO", password="qemu-secret")
(boot / "igc-sante.pem").write_bytes(ca.pem())
(boot / "kiosk-provision.toml").write_text(textwrap.dedent("""
    environment = "test"
    [site]
    name = "Test de démarrage"
    finess = "750712184"
    [lps]
    oid = "1.2.250.1.999.1.1"
    insi_idam = "IDAM-QEMU"
    dmp_homologation = "HOMOL-QEMU"
    [certificates]
    auth = "auth.p12"
    auth_password = "qemu-secret"
    ca_bundle = "igc-sante.pem"
    [dmp]
    enabled = false            # INSi only: the boot check has no DMP signing certificate
    [[readers]]                # the test overlay's vpcd readers (the host inserts its card in the first)
    name = "vitale"
    role = "patient"
    match = "Virtual PCD 00 00"
    [[readers]]
    name = "cps"
    role = "staff"
    match = "Virtual PCD 00 01"
"""))
