"""Virtual cards: the chips the drivers read (Vitale, CPx), their ISO 7816-4 core, the catalogue of
the product's cards (`catalogue`) and what every transport needs of a card (`vcard`)."""
