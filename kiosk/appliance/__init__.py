"""The appliance around the desk: the service (controller, local API, audit journal, headless loop,
wiring, demo), diagnostics (`doctor`), fleet configuration (TUF), metrics, printing, provisioning and
the logging set-up."""
