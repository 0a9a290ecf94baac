#!/usr/bin/env python3
"""Picks a small corpus: the inputs that cover the most coverage edges.

`cargo fuzz cmin` keeps every input that adds a feature (over a thousand for
the script target); this keeps the given seeds, then adds inputs greedily by
the number of edges each adds, up to BUDGET files in all. It reads the control
file of a libFuzzer merge, made with the fuzz binary (fuzz/README.md):

    BIN -merge=1 -merge_control_file=CTL EMPTY_DIR CORPUS_DIR...
    python3 fuzz/pick_corpus.py CTL OUT_DIR BUDGET [SEED_FILE...]
"""
import hashlib
import os
import shutil
import sys

ctl, out_dir, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
seeds = sys.argv[4:]
lines = open(ctl).read().split("\n")
n = int(lines[0])
files = lines[2 : 2 + n]
cov = {}
for line in lines[2 + n :]:
    if line.startswith("COV "):
        parts = line.split()
        cov[int(parts[1])] = set(map(int, parts[2:]))
every = set().union(*cov.values()) if cov else set()


def sha1(path):
    return hashlib.sha1(open(path, "rb").read()).hexdigest()


seed_hashes = {sha1(s) for s in seeds}
chosen, covered = [], set()
for i, f in enumerate(files):
    if i in cov and sha1(f) in seed_hashes:
        chosen.append(i)
        covered |= cov[i]
size = {i: os.path.getsize(files[i]) for i in cov}
while len(chosen) < budget:
    rest = [i for i in cov if i not in chosen]
    if not rest:
        break
    best = max(rest, key=lambda i: (len(cov[i] - covered), -size[i]))
    if not cov[best] - covered:
        break
    chosen.append(best)
    covered |= cov[best]
os.makedirs(out_dir, exist_ok=True)
for i in chosen:
    shutil.copy(files[i], os.path.join(out_dir, os.path.basename(files[i])))
print(f"{len(chosen)} files cover {len(covered)} of {len(every)} edges")
