# json, re, threading, subprocess and os.fork in Debian's python3
python3 -c '
import json, os, re, subprocess, threading
d = json.loads(json.dumps({"a": [1, 2, 3], "b": "x"}))
m = re.findall(r"\d+", "a1b22c333")
r = []
lock = threading.Lock()
def sq(i):
    with lock:
        r.append(i * i)
ts = [threading.Thread(target=sq, args=(i,)) for i in range(8)]
for t in ts:
    t.start()
for t in ts:
    t.join()
out = subprocess.run(["echo", "hi"], capture_output=True, text=True).stdout.strip()
pid = os.fork()
if pid == 0:
    os._exit(7)
_, st = os.waitpid(pid, 0)
print("py", d["a"], d["b"], m, sorted(r), out, os.WEXITSTATUS(st))
'
