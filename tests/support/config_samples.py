"""Configuration texts the tests share."""

# Three problems with known lines: site.finess (line 5), insi.timeout_s, readers[1].role (line 16)
BROKEN = """\
environment = "prod"

[site]
name = "CH Exemple"
finess = "12AB"

[insi]
timeout_s = "vite"

[[readers]]
name = "vitale"
role = "patient"

[[readers]]
name = "cps"
role = "chef"
backend = "serial"
"""
