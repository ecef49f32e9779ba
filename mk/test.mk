# make test / make run: placeholder until the runner lands.
