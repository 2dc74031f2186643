/**
 * The overload test's load, in a process of its own (so that making 10x the traffic does not
 * slow the fake Fenra that sets the capacity): reads commands on stdin, one JSON per line
 * (`{"rate": requests per second, "cap": most at once}` or `{"stop": true}`), sends templated
 * requests of the recorded traces to the sidecar once each, and at the end writes
 * `{"acked": [...keys], "offered": n, "refused": n, "skipped": n}` on stdout.
 */
import { createInterface } from 'node:readline';
import type { Payload } from './traffic.js';
import { templated } from './traffic.js';

const url = process.argv[2]!;
const make = templated(Number(process.argv[3] ?? 4));
let n = 0;
const acked: string[] = [];
let offered = 0;
let refused = 0;
let skipped = 0;
let open = 0;
let timer: ReturnType<typeof setInterval> | undefined;
const pending = new Set<Promise<void>>();

function send(p: Payload): void {
  offered += p.keys.length;
  open++;
  const sent = fetch(`${url}/v1/traces`, {
    method: 'POST',
    body: p.proto,
    headers: { 'content-type': 'application/x-protobuf' },
  })
    .then(async (r) => {
      await r.arrayBuffer();
      if (r.status === 200) acked.push(...p.keys);
      else refused++;
    })
    .catch(() => void refused++)
    .finally(() => {
      open--;
      pending.delete(sent);
    });
  pending.add(sent);
}

function run(perSecond: number, cap: number): void {
  if (timer !== undefined) clearInterval(timer);
  let due = 0;
  let last = Date.now();
  timer = setInterval(() => {
    const now = Date.now();
    due += (perSecond * (now - last)) / 1000;
    last = now;
    for (; due >= 1; due--) {
      if (open >= cap) skipped++;
      else send(make(n++));
    }
  }, 5);
}

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { rate?: number; cap?: number; stop?: boolean; offered?: boolean };
  if (cmd.offered) process.stdout.write(`${JSON.stringify({ offered })}\n`);
  else if (cmd.stop) {
    if (timer !== undefined) clearInterval(timer);
    await Promise.all([...pending]);
    process.stdout.write(`${JSON.stringify({ acked, offered, refused, skipped })}\n`);
    break;
  } else run(cmd.rate!, cmd.cap!);
}
