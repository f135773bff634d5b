#!/usr/bin/env bash
# A shell test harness recording its energy with the `energyrecorder` CLI (from @energyrecorder/sdk).
# Needs NODE_NAME (the environment the collectors tag) and ENERGY_RECORDER_API_URL (API base with /resources).
# Marking commands never fail the job when the API is down, so `set -e` is safe here.
set -euo pipefail

: "${NODE_NAME:?set NODE_NAME to the environment name}"
: "${ENERGY_RECORDER_API_URL:?set ENERGY_RECORDER_API_URL, e.g. http://127.0.0.1:8888/resources}"

# Whatever ran before (a nightly pipeline's scenario, say) is saved by `begin` and restored by `finish`,
# also when a step fails: the trap runs on every exit.
energyrecorder begin shell-suite
trap 'energyrecorder finish' EXIT

energyrecorder step install
sleep "${STEP_SLEEP:-0.2}"            # e.g. apt-get install -y my-service

energyrecorder step functional
sleep "${STEP_SLEEP:-0.2}"            # e.g. ./run-functional-tests.sh

energyrecorder step teardown
sleep "${STEP_SLEEP:-0.2}"

echo "now running: $(energyrecorder status)"
