#!/usr/bin/env bash
# Drives `make run` the way a newcomer does on the README: a chip sale typed
# at the keypad, then quit. Each line is typed once the screen asks for it.
# Usage: scripts/counter-sale.sh [LOG]  (exit 0 when the sale is approved)
set -euo pipefail
log=${1:-$(mktemp)}
limit=${COUNTER_TIMEOUT:-600}   # seconds, compile time included
dir=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
mkfifo "$dir/in"
make --no-print-directory run <"$dir/in" >"$log" 2>&1 &
pid=$!
exec 3>"$dir/in"
start=$SECONDS
seen=0
# expect TEXT: wait until TEXT appears in what the terminal printed since the
# last expectation (and move past it).
expect() {
  while :; do
    local off
    off=$(tail -c +$((seen + 1)) "$log" | grep -a -b -o -F -- "$1" | head -n 1 | cut -d: -f1 || true)
    if [ -n "$off" ]; then
      seen=$((seen + off + $(printf '%s' "$1" | wc -c)))
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "counter: make run ended before showing '$1'" >&2
      return 1
    fi
    if (( SECONDS - start > limit )); then
      echo "counter: no '$1' after ${limit}s" >&2
      return 1
    fi
    sleep 0.2
  done
}
type() { printf '%s\n' "$1" >&3; }
expect "data directory:"
expect "idle";            type 1234
expect "CNY 12.34";       type ""
expect "confirm-amount";  type ""
expect "present-card";    type "insert unionpay-debit"
expect "PIN";             type "pin 123456"
expect "remove-card";     type "remove"
expect "idle";            type "quit"
wait "$pid"
grep -q -e "批准" -e "APPROVED" -e "Approved" "$log" || { echo "counter: the sale was not approved" >&2; exit 1; }
echo "counter: sale approved"
