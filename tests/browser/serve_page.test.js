// serve_page.test.js — the agent page of `unify serve` in a real browser:
// headless Chromium from Debian (/usr/bin/chromium) driven by playwright-core.
//
// usage: node serve_page.test.js UNIFY_BINARY SOURCE_DIR   (ctest: test_serve_page)
//
// A fresh store is built from fixtures/small in a temporary folder, `unify
// serve` is started on a free loopback port (--listen 127.0.0.1:0, the port
// read from its "listening on" line), and the page is used the way an agent
// would: search by a phone typed with punctuation, by e-mail, by a bare
// loyalty card, by an unknown value (the not-found state), by a value full of
// HTML (shown as text, never as markup); the card's fields are checked
// against what `unify lookup` prints for the same customer. A second server
// The card's "Why together?" toggle lists each link of the profile (checked
// against `unify explain --json`), a scored one with its probability and
// field weights (the store is built with scored matching on). A second server
// with a token checks that the API refuses the page, the page asks for the
// token, refuses a wrong one and shows the card with the right one.
// Every server started here is stopped in `after`, whatever happened.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const UNIFY = path.resolve(process.argv[2] || '');
const SOURCE = path.resolve(process.argv[3] || path.join(__dirname, '..', '..'));
const CHROMIUM = process.env.UNIFY_CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 30000; // generous: the sanitizer build is several times slower
const PHONE = '(333) 714-2481';

let work, config, browser;
const servers = [];

function lookup(...args) {
  const out = execFileSync(UNIFY, ['lookup', '-c', config, ...args], { encoding: 'utf8' });
  return JSON.parse(out);
}

function explain(goldenId) {
  return JSON.parse(execFileSync(UNIFY, ['explain', '-c', config, '--golden', goldenId, '--json'], { encoding: 'utf8' }));
}

/* The first profile (by id) with a scored link, as `unify explain --json` prints it. */
function findScored() {
  for (let id = 1; id <= 2000; id++) {
    let e;
    try { e = explain('G' + id); } catch (err) { continue; }
    if ((e.links || []).some((l) => l.rule === 'scored')) return e;
  }
  return null;
}

/* Start `unify serve` on a free port; resolves with its base URL once /healthz answers. */
function startServer(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(UNIFY, ['serve', '-c', config, '--listen', '127.0.0.1:0'],
                        { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    servers.push(child);
    let err = '';
    const timer = setTimeout(() => reject(new Error('unify serve did not start: ' + err)), STEP_MS);
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`unify serve exited (${code} ${sig}): ${err}`));
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', async (d) => {
      err += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (!m || child.started) return;
      child.started = true;
      const base = m[1];
      for (let i = 0; i < 100; i++) {
        try {
          const r = await fetch(base + '/healthz');
          if (r.status === 200) { clearTimeout(timer); resolve({ base, child }); return; }
        } catch (e) { /* not yet */ }
        await new Promise((r) => setTimeout(r, 100));
      }
      reject(new Error('/healthz never answered 200'));
    });
  });
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const done = new Promise((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
  const code = await done;
  clearTimeout(killer);
  return code;
}

async function search(page, text) {
  await page.fill('#q', text);
  await page.click('#go');
}

/* Wait for the search to settle: a card, or a status that is not "Searching…". */
async function settled(page) {
  await page.waitForFunction(() => {
    const s = document.getElementById('status');
    return document.querySelector('.card.profile') || (s && !s.hidden && !/Searching/.test(s.textContent)) ||
           document.getElementById('tokendlg').open;
  }, null, { timeout: STEP_MS });
}

async function texts(page, selector) {
  return page.$$eval(selector, (els) => els.map((e) => e.textContent));
}

before(async () => {
  assert.ok(fs.existsSync(UNIFY), 'unify binary: ' + UNIFY);
  assert.ok(fs.existsSync(CHROMIUM), 'Debian chromium at ' + CHROMIUM + ' (apt-get install chromium)');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'unify-page-'));
  const fixture = path.join(SOURCE, 'fixtures', 'small');
  for (const f of fs.readdirSync(fixture)) fs.copyFileSync(path.join(fixture, f), path.join(work, f));
  config = path.join(work, 'unify.yaml');
  const yaml = fs.readFileSync(config, 'utf8')
    .replace(/^(\s+path:\s*)\S+/m, '$1store')
    .replace(/^rejects:\s*\S+/m, 'rejects: rejects.txt');
  // The fixture's config has scored matching on, so that some profile is held together by a scored link.
  if (!/\nmatching:/.test(yaml)) throw new Error('fixtures/small/unify.yaml has no matching section');
  fs.writeFileSync(config, yaml);
  execFileSync(UNIFY, ['run', '-c', config, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
           '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update',
           '--disable-sync'],
    timeout: STEP_MS,
  });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  const codes = [];
  for (const child of servers) codes.push(await stopServer(child));
  if (work) fs.rmSync(work, { recursive: true, force: true });
  // A server that did not stop cleanly (exit 0 after SIGTERM) fails the run, e.g. a sanitizer report.
  for (const c of codes) assert.equal(c, 0, 'unify serve exit code after SIGTERM');
});

test('open service: search by phone, e-mail, loyalty card; not found; values shown as text', async () => {
  const { base } = await startServer({ UNIFY_TOKEN: '' });
  const want = lookup('--phone', PHONE);
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const resp = await page.goto(base + '/');
  assert.equal(resp.status(), 200);
  assert.match(resp.headers()['content-security-policy'] || '', /default-src 'none'/);

  // By phone, typed the way a customer says it.
  await search(page, PHONE);
  await settled(page);
  assert.equal(await page.getAttribute('.card.profile', 'data-golden-id'), want.golden_id);
  const a = want.attributes;
  assert.equal(await page.textContent('.card .name'), `${a.first_name.value} ${a.last_name.value}`);
  const emails = await texts(page, '.contacts ul.email .value');
  assert.deepEqual(emails, want.identifiers.email.map((e) => e.value));
  const phones = await texts(page, '.contacts ul.phone .value');
  assert.deepEqual(phones, want.identifiers.phone.map((e) => e.value));
  const address = await page.textContent('.card .address');
  assert.ok(address.includes(a.address.value) && address.includes(a.city.value) && address.includes(a.postcode.value),
            'address: ' + address);
  for (const kind of Object.keys(want.identifiers).filter((k) => k !== 'email' && k !== 'phone')) {
    const shown = await texts(page, `.accounts ul.ids-${kind} .value`);
    assert.deepEqual(shown, want.identifiers[kind].map((e) => e.value), kind);
  }
  assert.deepEqual(await texts(page, '.channels .chip'), want.channels);
  for (const [source, ctx] of Object.entries(want.context)) {
    const row = await page.textContent(`.context tr[data-source="${source}"]`);
    for (const [k, v] of Object.entries(ctx)) assert.ok(row.includes(String(v)), `context ${source}.${k}: ${row}`);
  }
  const records = await page.$$eval('.records tr.record', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.deepEqual(records.map((r) => r[0] + ':' + r[1]), want.records.map((r) => r.source + ':' + r.key));
  assert.equal(await page.isVisible('#status'), false, 'no status line next to a card');

  // "Why together?": one line per link of `unify explain --golden ID --json`.
  const why = explain(want.golden_id);
  await page.click('.card .explain button.why');
  if (why.links.length) {
    await page.waitForSelector('.card .why-panel li.link');
    const lines = await texts(page, '.card .why-panel li.link');
    assert.equal(lines.length, why.links.length, 'one line per link: ' + lines.join(' | '));
    lines.forEach((line, i) => {
      const l = why.links[i];
      const pair = `${why.records[l.a].source}:${why.records[l.a].key} + ${why.records[l.b].source}:${why.records[l.b].key} — `;
      assert.ok(line.startsWith(pair), `link ${i}: ${line}`);
      if (l.rule !== 'scored') assert.ok(line.includes(`share ${l.kind} ${l.value}`), line);
    });
  } else {
    await page.waitForSelector('.card .why-panel .hint:not(:empty)');
  }
  await page.click('.card .explain button.why'); // the toggle hides it again
  assert.equal(await page.isVisible('.card .why-panel'), false);

  // A profile held together by a scored link: its line shows the probability and the field weights.
  const scored = findScored();
  assert.ok(scored, 'a profile with a scored link (threshold 0.99)');
  await search(page, scored.golden_id);
  await page.waitForFunction((g) => {
    const c = document.querySelector('.card.profile');
    return c && c.getAttribute('data-golden-id') === g;
  }, scored.golden_id);
  await page.click('.card .explain button.why');
  await page.waitForSelector('.card .why-panel li.link.scored');
  const line = await page.textContent('.card .why-panel li.link.scored');
  const sl = scored.links.find((l) => l.rule === 'scored');
  const exact = sl.comparisons.find((c) => c.level !== 'missing');
  assert.match(line, /— scored, probability 0\.\d{4}, weight [+-]\d+\.\d/, line);
  assert.ok(line.includes(`${exact.field} ${exact.level} ${exact.weight >= 0 ? '+' : ''}${exact.weight.toFixed(1)}`), line);

  // By e-mail, upper-cased: the same customer.
  await search(page, emails[0].toUpperCase());
  await page.waitForFunction((g) => {
    const c = document.querySelector('.card.profile');
    return c && c.getAttribute('data-golden-id') === g;
  }, want.golden_id);

  // A bare loyalty card number (no kind typed): the ?any= lookup finds it.
  if (want.identifiers.loyalty_card) {
    await search(page, 'x'); // reset the card
    await settled(page);
    await search(page, want.identifiers.loyalty_card[0].value);
    await page.waitForFunction((g) => {
      const c = document.querySelector('.card.profile');
      return c && c.getAttribute('data-golden-id') === g;
    }, want.golden_id);
  }

  // An unknown value: a clear not-found state, no card.
  await search(page, 'nobody.at.all@unify-test.net');
  await page.waitForSelector('#status[data-state="not-found"]');
  assert.match(await page.textContent('#status'), /Not found/);
  assert.equal(await page.$('.card.profile'), null);

  // Markup typed into the box stays text.
  const evil = '<img src=x onerror="window.pwned=1">@unify-test.net';
  await search(page, evil);
  await page.waitForSelector('#status[data-state="invalid"]');
  assert.ok((await page.textContent('#status')).includes('<img src=x'), 'the value is shown as typed');
  assert.equal(await page.$('#status img'), null, 'no element made from the value');
  assert.equal(await page.evaluate(() => window.pwned), undefined);

  // KIND:VALUE with a kind that is no identifier kind: tried as SOURCE:KEY, then not found.
  await search(page, 'nosuchkind:42');
  await page.waitForFunction(() => /record .nosuchkind:42./.test(document.getElementById('status').textContent));
  assert.equal(await page.$('.card.profile'), null);

  assert.deepEqual(pageErrors, [], 'no script errors');
  await page.close();
});

test('token configured: the API refuses, the page asks for the token and then shows the card', async () => {
  const token = 'page-test-token-' + process.pid;
  const { base } = await startServer({ UNIFY_TOKEN: token });
  const want = lookup('--phone', PHONE);

  const api = await fetch(base + '/v1/lookup?phone=' + encodeURIComponent(PHONE));
  assert.equal(api.status, 401);
  assert.equal((await api.json()).error.code, 'unauthorized');

  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  const resp = await page.goto(base + '/');
  assert.equal(resp.status(), 200, 'the page itself holds no data and needs no token');

  await search(page, PHONE);
  await page.waitForSelector('#tokendlg[open]');
  assert.equal(await page.$('.card.profile'), null, 'no data without the token');
  assert.match(await page.textContent('#status'), /needs an access token/);

  await page.fill('#token', 'wrong-' + token);
  await page.click('#tokenok');
  await page.waitForFunction(() => /refused/.test(document.getElementById('status').textContent));
  await page.waitForSelector('#tokendlg[open]');
  assert.equal(await page.$('.card.profile'), null);

  await page.fill('#token', token);
  await page.click('#tokenok');
  await page.waitForSelector('.card.profile');
  assert.equal(await page.getAttribute('.card.profile', 'data-golden-id'), want.golden_id);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('unify.token')), token, 'kept for this tab');

  // Forgetting it: the next search asks again.
  await page.click('#forget');
  await search(page, PHONE);
  await page.waitForSelector('#tokendlg[open]');
  await context.close();
});
