// Drives CleverTap's official Node client (npm `clevertap`), unchanged, for tests/clients.
//
// Reads {"calls": [[method, ...args], ...]} on stdin, runs the calls at once (Promise.all) with the
// account id and passcode from CT_ACCOUNT_ID and CT_PASSCODE, and prints their results as JSON.
// The client always calls https://<region>.api.clevertap.com/1; the only thing changed is that
// base address, to CT_BASE_URL/1 (the sandbox), on the client's own `api.apiEndpoint` field.
"use strict";

const CleverTap = require("clevertap");

async function main() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const { calls } = JSON.parse(input);
  const clevertap = CleverTap.init(process.env.CT_ACCOUNT_ID, process.env.CT_PASSCODE, CleverTap.REGIONS.EUROPE);
  clevertap.api.apiEndpoint = `${process.env.CT_BASE_URL}/1`;
  const results = await Promise.all(
    calls.map(([method, ...args]) => clevertap[method](...args).catch((error) => ({ rejected: String(error) })))
  );
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
