# Sourced by bench/profile-p1 and bench/count-p1: P1's page on SQLite, ready to be loaded.
#
#   p1_start <output dir> <wait seconds> [command to run affdesk under...]
#
# creates an admin, starts the release affdesk (under the given command, if any, e.g. valgrind),
# logs in, saves five links through the page's own form and checks they show. Leaves behind:
# $pid (affdesk's process, or the wrapper's), $url, $cookie (the session, for a Cookie header)
# and $OUT/page.html. Loopback only; every wait is bounded.

T=${CARGO_TARGET_DIR:-$HOME/.cache/affdesk/target}/release
BIN=$T/affdesk

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

rss() { awk '/^VmRSS:/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status"; }

p1_start() {
  OUT=$1
  local wait_secs=$2
  shift 2
  [ -x "$BIN" ] || { echo "build first: ./bench/run (or ./scripts/run)" >&2; exit 1; }
  rm -rf "$OUT" && mkdir -p "$OUT"
  local port password jar version form n
  port=$(free_port)
  url=http://127.0.0.1:$port
  export DATABASE_URL=sqlite://$OUT/p1.db LEPTOS_SITE_ADDR=127.0.0.1:$port LEPTOS_SITE_ROOT=$PWD/target/site
  export AFFDESK_SECRET_KEY
  AFFDESK_SECRET_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  password=profile-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" | "$BIN" admin create --username bench --password-stdin >/dev/null
  "$@" "$BIN" serve >"$OUT/affdesk.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq $((wait_secs * 10))); do curl -fs "$url/healthz" >/dev/null && break; sleep 0.1; done
  curl -fs "$url/healthz" >/dev/null || { echo "affdesk did not answer /healthz in $wait_secs s" >&2; exit 1; }

  jar=$OUT/cookies
  curl -s -o /dev/null -c "$jar" --data-urlencode username=bench --data-urlencode "password=$password" \
    -d next=/ "$url/login"
  cookie=$(awk '$6 == "affdesk_session" {print $6 "=" $7}' "$jar")
  [ -n "$cookie" ] || { echo "login set no session cookie" >&2; exit 1; }
  version=$(curl -s -H "Cookie: $cookie" "$url/settings/affiliate" |
    grep -o 'name="version" value="[0-9]*"' | grep -o '[0-9]*"$' | tr -d '"' | head -1)
  form=(-d program_enabled=on -d "version=$version" -d intent=save)
  for n in 1 2 3 4 5; do
    form+=(--data-urlencode "url_$n=http://127.0.0.1:9/ping?o=\${order_id}&l=$n" -d "enabled_$n=on" -d "mode_$n=server")
  done
  curl -s -o /dev/null -H "Cookie: $cookie" "${form[@]}" "$url/settings/affiliate"
  curl -s -H "Cookie: $cookie" "$url/settings/affiliate" >"$OUT/page.html"
  [ "$(grep -c '127.0.0.1:9/ping' "$OUT/page.html")" -ge 1 ] || { echo "the links were not saved" >&2; exit 1; }
  echo "page: $(stat -c %s "$OUT/page.html") bytes"
}
