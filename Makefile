.PHONY: run test install
run:
	scripts/run.sh
test:
	scripts/test.sh
install:
	scripts/install.sh
