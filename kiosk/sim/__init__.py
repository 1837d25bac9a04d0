("""Simulators that are part of the product (teleservices, param-lps): they power `kiosk demo`, bench checks and "
 "tests.""")
