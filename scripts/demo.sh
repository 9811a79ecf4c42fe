#!/usr/bin/env bash
# `make demo`: migrate the embedded SQLite database, generate a synthetic
# county (once per preset), start gunicorn and the worker, print the logins.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
PRESET=${PRESET:-small}
SEED=${SEED:-1}
PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
SUMMARY=var/demo-users.json

mkdir -p var
# A local secret on first run; .env is git-ignored and read by the settings.
if [ ! -f .env ]; then
  secret=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
  sed "s|^GRIDGOV_SECRET_KEY=.*|GRIDGOV_SECRET_KEY=$secret|" .env.example > .env
  echo "已生成本地配置文件 .env（包含随机密钥）。"
fi
# Personal data is encrypted at rest: make local SM4 and blind-index keys once.
set_env_value() {
  local name=$1 value=$2
  if grep -q "^$name=" .env; then
    sed -i "s|^$name=.*|$name=$value|" .env
  else
    echo "$name=$value" >> .env
  fi
}
if ! grep -q '^GRIDGOV_FIELD_KEYS=..*' .env; then
  key=$("$PY" -c 'import base64,os; print(base64.b64encode(os.urandom(16)).decode())')
  index_key=$("$PY" -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
  set_env_value GRIDGOV_FIELD_KEYS "k1:$key"
  set_env_value GRIDGOV_FIELD_KEY_CURRENT k1
  set_env_value GRIDGOV_BLIND_INDEX_KEY "$index_key"
  echo "已在 .env 中生成个人信息加密密钥（请妥善备份，丢失后无法解密）。"
fi
# The demo serves plain HTTP on localhost, so cookies cannot be Secure.
export GRIDGOV_SECURE_COOKIES=0

"$PY" manage.py migrate --noinput -v0
"$PY" manage.py compilemessages --ignore=.venv -v0 || echo "compilemessages skipped (msgfmt missing)"
"$PY" manage.py collectstatic --noinput -v0

current_preset=""
[ -f "$SUMMARY" ] && current_preset=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("preset",""))' "$SUMMARY")
if [ "${RESET:-0}" = "1" ] || [ "$current_preset" != "$PRESET" ]; then
  echo "正在生成演示县（预设 $PRESET，种子 $SEED）……"
  "$PY" manage.py demo_county --preset "$PRESET" --seed "$SEED" --summary-json "$SUMMARY" --reset
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$VENV/bin/gunicorn" gridgov.wsgi:application --bind "$HOST:$PORT" --workers 2 --threads 4 \
  --access-logfile var/access.log --error-logfile var/gunicorn.log &
pids+=($!)
"$PY" manage.py run_worker >> var/worker.log 2>&1 &
pids+=($!)

for _ in $(seq 1 50); do
  if "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://$HOST:$PORT/accounts/login/', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 0.3
done

"$PY" - "$SUMMARY" "http://$HOST:$PORT/" <<'PYEOF'
import json, sys
summary = json.load(open(sys.argv[1]))
print()
print(f"网融演示站已启动：{sys.argv[2]}   (Ctrl+C 停止)")
print("日志：var/gunicorn.log, var/access.log, var/worker.log")
print()
print(f"{'角色 role':<22}{'用户名 username':<18}{'密码 password':<26}区域 area")
for user in summary["users"]:
    print(f"{user['role']:<22}{user['username']:<18}{user['password']:<26}{user['area_code']}")
for handler in summary.get("department_handlers", []):
    print(f"{'department_handler':<22}{handler['username']:<18}{handler['password']:<26}{handler['department']}")
phones = summary.get("resident_phones") or []
if phones:
    print()
    print("居民端 /r/：用手机号登录，验证码见 var/worker.log（开发环境的短信只写日志）")
    for entry in phones:
        print(f"  {entry['phone']}  {entry['compound']}")
cases = (summary.get("counts") or {}).get("cases")
if cases:
    print()
    print(f"演示事项（近一年）：{cases} 件；事项待办见 /cases/，消息见 /inbox/")
PYEOF
wait -n "${pids[@]}"
