#!/usr/bin/env bash
# Benchmark of one `totpstore storage user totp generate` process on SQLite against the sqlite3
# shell inserting a comparable row, and the command's peak memory.
#
# Usage:   benches/generate.sh [RUNS]          RUNS defaults to 101 (odd, for a true median)
# Needs:   cargo, bash >= 5 (EPOCHREALTIME), the sqlite3 command-line shell, and GNU time at
#          /usr/bin/time (Debian/Ubuntu: apt-get install -y sqlite3 time).
# Env:     TOTPSTORE_BENCH_DIR  parent folder of the scratch folder (default: <repo>/target), so
#          that both databases live on the same disk; the scratch folder is removed at the end.
#
# What it measures, in one run and on one disk:
#   1. builds the release binary (cargo build --release --bin totpstore);
#   2. generate: a database file pre-initialised by one `generate`, then RUNS processes of
#      `totpstore storage user totp generate user-N --sqlite.path F --encryption-key K`, each for
#      a new username, timed one by one (wall clock, process start to exit);
#   3. sqlite3: a second file with the very same schema (copied with `.schema` from the first,
#      same journal mode), then RUNS processes of `sqlite3 F "INSERT ..."`, each inserting one
#      comparable row: username, issuer, algorithm, digits, period, a random blob of the length
#      generate stores (version byte + 24-byte nonce + 32-byte secret + 16-byte tag = 73 bytes
#      with the default --secret-size 32) and a created_at timestamp (last_used_at NULL);
#      the two kinds of runs are interleaved so that disk or CPU drift hits both alike;
#   4. the peak resident memory of generate: "Maximum resident set size" from /usr/bin/time -v
#      over 21 further runs (median and maximum);
#   5. floors for context: the median of `totpstore --version` and `sqlite3 -version`, i.e.
#      process start-up without any database work.
# It prints the medians, the ratio generate / sqlite3, and the peak RSS, with the targets
# (ratio <= 1.5, peak RSS < 16 MiB). The exit status is 0 whether or not the targets are
# met; this is a measurement, not a test.

set -euo pipefail

runs=${1:-101}
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 5)); then
    echo "usage: $0 [RUNS >= 5]" >&2
    exit 2
fi
for tool in sqlite3 /usr/bin/time cargo; do
    if ! command -v "$tool" >/dev/null; then
        echo "error: $tool is required (apt-get install -y sqlite3 time)" >&2
        exit 1
    fi
done
if [[ -z ${EPOCHREALTIME:-} ]]; then
    echo "error: bash >= 5 is required (EPOCHREALTIME)" >&2
    exit 1
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

echo "building the release binary..." >&2
cargo build --release --quiet --bin totpstore
target_dir=$(cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="${target_dir:-$repo/target}/release/totpstore"

parent=${TOTPSTORE_BENCH_DIR:-${target_dir:-$repo/target}}
mkdir -p "$parent"
scratch=$(mktemp -d "$parent/bench-generate.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

key="benchmark-encryption-key-0123456789"
ours="$scratch/generate.sqlite3"
theirs="$scratch/sqlite3.sqlite3"

# Microseconds since the epoch, without forking (EPOCHREALTIME is "seconds.micro").
now_us() {
    local t=${EPOCHREALTIME/[.,]/}
    echo "$((10#$t))"
}

median() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

generate() {
    "$bin" storage user totp generate "$1" --sqlite.path "$ours" --encryption-key "$key"
}

# Pre-initialise our file (schema + key check value), then copy its schema to the other file.
generate warm-up >/dev/null
blob_len=$(sqlite3 "$ours" "SELECT length(secret) FROM totp_configurations LIMIT 1")
journal=$(sqlite3 "$ours" "PRAGMA journal_mode")
{
    echo "PRAGMA journal_mode = $journal;"
    sqlite3 "$ours" ".schema totp_configurations"
} | sqlite3 "$theirs" >/dev/null
sqlite3 "$theirs" "INSERT INTO totp_configurations (username, issuer, algorithm, digits, period,
    secret, created_at, last_used_at) VALUES ('warm-up', 'Authelia', 'SHA1', 6, 30,
    randomblob($blob_len), '2026-01-01 00:00:00.000000+00:00', NULL)"

gen_times=()
sql_times=()
for ((i = 1; i <= runs; i++)); do
    start=$(now_us)
    generate "user-$i" >/dev/null
    end=$(now_us)
    gen_times+=($((end - start)))

    created=$(date -u '+%Y-%m-%d %H:%M:%S.%6N+00:00')
    start=$(now_us)
    sqlite3 "$theirs" "INSERT INTO totp_configurations (username, issuer, algorithm, digits,
        period, secret, created_at, last_used_at) VALUES ('user-$i', 'Authelia', 'SHA1', 6, 30,
        randomblob($blob_len), '$created', NULL)"
    end=$(now_us)
    sql_times+=($((end - start)))
done

floor_gen=()
floor_sql=()
for ((i = 1; i <= 21; i++)); do
    start=$(now_us)
    "$bin" --version >/dev/null
    end=$(now_us)
    floor_gen+=($((end - start)))
    start=$(now_us)
    sqlite3 -version >/dev/null
    end=$(now_us)
    floor_sql+=($((end - start)))
done

rss=()
for ((i = 1; i <= 21; i++)); do
    kib=$(/usr/bin/time -v "$bin" storage user totp generate "rss-$i" --sqlite.path "$ours" \
        --encryption-key "$key" 2>&1 >/dev/null \
        | sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): \([0-9]*\)$/\1/p')
    rss+=("$kib")
done

rows_ours=$(sqlite3 "$ours" "SELECT count(*) FROM totp_configurations")
rows_theirs=$(sqlite3 "$theirs" "SELECT count(*) FROM totp_configurations")
expected_ours=$((runs + 1 + 21))
if [[ $rows_ours != "$expected_ours" || $rows_theirs != $((runs + 1)) ]]; then
    echo "error: expected $expected_ours and $((runs + 1)) rows, found $rows_ours and" \
        "$rows_theirs" >&2
    exit 1
fi

gen_median=$(printf '%s\n' "${gen_times[@]}" | median)
sql_median=$(printf '%s\n' "${sql_times[@]}" | median)
floor_gen_median=$(printf '%s\n' "${floor_gen[@]}" | median)
floor_sql_median=$(printf '%s\n' "${floor_sql[@]}" | median)
rss_median=$(printf '%s\n' "${rss[@]}" | median)
rss_max=$(printf '%s\n' "${rss[@]}" | sort -n | tail -n 1)

awk -v runs="$runs" -v g="$gen_median" -v s="$sql_median" -v fg="$floor_gen_median" \
    -v fs="$floor_sql_median" -v rm="$rss_median" -v rx="$rss_max" -v blob="$blob_len" \
    -v journal="$journal" -v dir="$scratch" -v version="$(sqlite3 -version | cut -d' ' -f1)" \
    'BEGIN {
    ratio = g / s
    printf "totpstore generate benchmark on SQLite (%d runs each, interleaved)\n", runs
    printf "  scratch folder (both files): %s, journal mode %s\n", dir, journal
    printf "  generate, median wall time:            %8.2f ms\n", g / 1000
    printf "  sqlite3 %s INSERT (%d-byte blob): %8.2f ms\n", version, blob, s / 1000
    printf "  ratio generate / sqlite3:              %8.2f   (target <= 1.5: %s)\n",
        ratio, ratio <= 1.5 ? "met" : "NOT met"
    printf "  peak RSS of generate, median of 21:    %8.2f MiB (max %.2f MiB; target < 16: %s)\n",
        rm / 1024, rx / 1024, rx < 16 * 1024 ? "met" : "NOT met"
    printf "  start-up floor, totpstore --version:   %8.2f ms\n", fg / 1000
    printf "  start-up floor, sqlite3 -version:      %8.2f ms\n", fs / 1000
}'
