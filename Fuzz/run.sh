#!/usr/bin/env bash
# Builds every libFuzzer target (Fuzz/Package.swift) and runs each one, then prints
# executions and findings per target. Exit status 1 when any target found something.
#
#   Fuzz/run.sh                 60 s per target (FUZZ_SECONDS)
#   FUZZ_SECONDS=600 Fuzz/run.sh
#   FUZZ_RUNS=2000 Fuzz/run.sh  a fixed number of inputs from a fixed seed (CI: repeatable)
#   FUZZ_TARGETS="JSONParserFuzzer" Fuzz/run.sh
#
# Corpora live in .build-fuzz/corpus/<target>/ (seeded by Fuzz/seed-corpora.py, grown by
# libFuzzer); this run's crashing inputs in .build-fuzz/findings/<target>/. Replay one with
# `.build-fuzz/debug/<target> <file>`; each fix gets a regression test with that input.
set -euo pipefail
cd "$(dirname "$0")/.."

swift="${SWIFT:-swift}"
seconds="${FUZZ_SECONDS:-60}"
runs="${FUZZ_RUNS:-}"
targets="${FUZZ_TARGETS:-EnvelopeDecoderFuzzer JSONParserFuzzer PHPDateFormatFuzzer RelayConfigurationFuzzer ConnectionStringFuzzer EventTypePatternFuzzer}"
build=.build-fuzz
mkdir -p "$build"

# Product by product: building the whole graph would also link the relay's own executables
# with the fuzzer runtime. lld, because gold fails on libFuzzer's runtime. No manifest caching:
# a cached build plan misses source files added to the relay (a path dependency) since.
for target in $targets; do
    if ! "$swift" build --package-path Fuzz --build-path "$build" --product "$target" --disable-build-manifest-caching \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld \
        >"$build/build-$target.log" 2>&1; then
        grep -v "Cannot export local symbol" "$build/build-$target.log" | tail -30 >&2
        echo "fuzz: building $target failed (full log: $build/build-$target.log)" >&2
        exit 2
    fi
done

python3 Fuzz/seed-corpora.py "$build/corpus"

status=0
printf '%-26s %12s %10s %9s\n' target executions new_units findings
for target in $targets; do
    findings="$build/findings/$target"
    rm -rf "$findings"
    mkdir -p "$findings" "$build/corpus/$target"
    limit=(-max_total_time="$seconds")
    [[ -n "$runs" ]] && limit=(-runs="$runs" -seed=1)
    log="$build/fuzz-$target.log"
    "$build/debug/$target" "${limit[@]}" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$findings/" "$build/corpus/$target" >"$log" 2>&1 || true
    executions=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
    added=$(awk '/stat::new_units_added/ { print $2 }' "$log")
    found=$(find "$findings" -type f | wc -l)
    printf '%-26s %12s %10s %9s\n' "$target" "${executions:-?}" "${added:-?}" "$found"
    if [[ "$found" -gt 0 || -z "$executions" ]]; then
        status=1
        grep -E "^(==[0-9]+==ERROR|Fatal error|.*: Fatal error|SUMMARY|artifact_prefix)" "$log" | head -5 | sed 's/^/    /'
        find "$findings" -type f | head -3 | sed 's/^/    input: /'
    fi
done
exit "$status"
