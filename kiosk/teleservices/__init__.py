"""The teleservices: INSi, DMP, the HIS (HL7 v2 / MLLP), param-lps and Web PS, with what they share
(TLS client, organisation certificate, SOAP helpers, input guards, the INSi-then-DMP pipeline)
and `clients` that builds the INSi and DMP clients from the configuration."""
