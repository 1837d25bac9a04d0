#!/bin/bash -e
# The screen shows the TUI (cage + foot) and Web PS pages (Chromium --kiosk); it runs the readers itself, so
# the headless service is off. tty1's getty gives way to it (Conflicts= in the unit).
systemctl disable kiosk.service
systemctl enable kiosk-desk.service
systemctl set-default graphical.target
