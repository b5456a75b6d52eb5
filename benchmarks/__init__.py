"""What `make bench*`, `make levers`, `make evaluate-public` and `make load-test` run; each writes its tables to
docs/."""
