.PHONY: test demo

# The README's test command: real servers up, every test, servers down.
test:
	bash scripts/run-tests

demo:
	@echo "demo: not written yet" >&2; exit 1
