"""Card applications: what the Vitale and CPx cards hold and the APDUs that read it (transport-agnostic)."""
