"""The domain's values, defined once: INS and identity traits, patient, the shared states (INS status,
INSi codes, DMP states), privacy masking, URLs, birthplaces, and card data read into the domain.

Imports nothing of the other rooms (only `drivers` for the card reads, and `kiosk.errors`)."""
