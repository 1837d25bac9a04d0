"""The desk at work: the controller (readers, cards, teleservices, journal) and the headless service around it."""
