#!/usr/bin/env bash
# Soak: runs the README's test command N times in a row and reports, for every run, pass or fail, its total time
# and the fully-qualified name of every failed test; then a summary. With --hog, a busy loop keeps one core busy
# beside the runs for their whole duration (stopped on exit and on Ctrl+C).
#
#   tests/soak.sh N [--hog]
#
# The solution is built once first (so the first run does not carry the whole build); every run is then the
# README's command itself, `dotnet test MeshOs.sln -c Release` (which still checks that the build is current),
# with a TRX logger added so that failures can be named. Everything a run printed, and its TRX files, are kept
# under TestResults/soak/<start time>/run-<i>/. Exits 0 only when every run passed.
set -uo pipefail

usage() {
    echo "usage: tests/soak.sh N [--hog]   (N ≥ 1 runs of: dotnet test MeshOs.sln -c Release)" >&2
    exit 2
}

runs=""
hog=false
for arg in "$@"; do
    case "$arg" in
        --hog) hog=true ;;
        -h|--help) usage ;;
        *) [[ -z "$runs" && "$arg" =~ ^[1-9][0-9]*$ ]] && runs="$arg" || usage ;;
    esac
done
[[ -n "$runs" ]] || usage

cd "$(dirname "$0")/.."
TEST_COMMAND=(dotnet test MeshOs.sln -c Release)
out_root="TestResults/soak/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out_root"

# The test command runs in the foreground: Ctrl+C reaches it (dotnet test stops its test hosts, whose fixtures stop
# the servers and processes they started); the trap runs once it has stopped.
hog_pid=""
cleanup() {
    if [[ -n "$hog_pid" ]]; then
        kill "$hog_pid" 2>/dev/null
        wait "$hog_pid" 2>/dev/null
        hog_pid=""
    fi
}
interrupted() {
    echo
    echo "soak: interrupted" >&2
    cleanup
    exit 130
}
trap cleanup EXIT
trap interrupted INT TERM

format_time() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }

# Failed tests of one run: from the TRX files (one per test assembly; a theory's case keeps its arguments) and from
# the console's "Failed <name> [time]" lines, so that a TRX file a crashed test host never wrote loses nothing.
failed_tests() {
    local dir="$1"
    {
        grep -h -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$dir"/*.trx 2>/dev/null \
            | sed -n 's/.*testName="\([^"]*\)".*/\1/p' | sed 's/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&apos;/'"'"'/g; s/&amp;/\&/g'
        sed -n 's/^  Failed \(.*\) \[[^]]*\]$/\1/p' "$dir/output.txt"
    } | sed '/^$/d' | sort -u
}

echo "soak: $runs run(s) of '${TEST_COMMAND[*]}'$($hog && echo ', with a CPU hog on one core'); $(nproc) core(s); output in $out_root"
echo "soak: building once first"
if ! dotnet build MeshOs.sln -c Release > "$out_root/build.txt" 2>&1; then
    echo "soak: the build failed (see $out_root/build.txt)" >&2
    exit 1
fi

if $hog; then
    bash -c 'while :; do :; done' &
    hog_pid=$!
    echo "soak: CPU hog running (pid $hog_pid)"
fi

passed=0
declare -a times=()
declare -A failures_by_test=()
summary_lines=()
for ((i = 1; i <= runs; i++)); do
    dir="$out_root/run-$i"
    mkdir -p "$dir"
    start=$(date +%s)
    "${TEST_COMMAND[@]}" --logger trx --results-directory "$dir" > "$dir/output.txt" 2>&1
    code=$?
    elapsed=$(($(date +%s) - start))
    times+=("$elapsed")

    mapfile -t failed < <(failed_tests "$dir")
    totals=$(grep -E '^(Passed|Failed)!' "$dir/output.txt" | sed -E 's/^.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+), Total: *([0-9]+).* - ([^ ]+)\.dll.*$/\5 \2\/\4/' | tr '\n' ' ')
    if [[ $code -eq 0 && ${#failed[@]} -eq 0 ]]; then
        passed=$((passed + 1))
        line="run $i/$runs: PASS  $(format_time "$elapsed")  $totals"
    else
        line="run $i/$runs: FAIL  $(format_time "$elapsed")  exit $code  $totals"
    fi
    echo "$line"
    summary_lines+=("$line")
    for name in "${failed[@]}"; do
        echo "    failed: $name"
        failures_by_test["$name"]=$((${failures_by_test["$name"]:-0} + 1))
    done
    if [[ $code -ne 0 && ${#failed[@]} -eq 0 ]]; then
        echo "    no failed test named: the run itself failed (build error, test host crash or abort); see $dir/output.txt"
        grep -m 5 -E 'error|aborted|crashed|Test host process' "$dir/output.txt" | sed 's/^/    | /'
    fi
done

sorted=$(printf '%s\n' "${times[@]}" | sort -n)
min=$(echo "$sorted" | head -1)
max=$(echo "$sorted" | tail -1)
median=$(echo "$sorted" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
total=0
for t in "${times[@]}"; do total=$((total + t)); done

echo
echo "soak summary: $passed of $runs run(s) passed$($hog && echo ' (with the CPU hog)'); run time min $(format_time "$min"), median $(format_time "$median"), max $(format_time "$max"), all runs $(format_time "$total")"
if ((${#failures_by_test[@]} > 0)); then
    echo "failed tests (runs failed in):"
    for name in "${!failures_by_test[@]}"; do
        echo "  ${failures_by_test[$name]}  $name"
    done | sort -k1,1nr -k2
fi
printf '%s\n' "${summary_lines[@]}" > "$out_root/summary.txt"
[[ $passed -eq $runs ]]
