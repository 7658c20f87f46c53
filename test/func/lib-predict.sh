# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib-predict.sh: flows whose targets the reference model predicts
# (test/ref/predict.py, on test/ref/maglev_ref.py).
# Sourced by lib.sh; tests source lib.sh only.
