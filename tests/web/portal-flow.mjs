#!/usr/bin/env node
// portal-flow.mjs: drives the certspool portal pages in Debian's chromium
// (/usr/bin/chromium, headless, through playwright-core) the way a
// recipient would, for the end-to-end tests.
//
//   node portal-flow.mjs confirm URL SHOT.png
//       open URL, screenshot, click #confirm, wait for #result; prints
//       its data-state.
//   node portal-flow.mjs keygen URL [--alg rsa2048|p256] --p12pass PW
//       [--p12alg aes256|compat] --out DIR [--shot SHOT.png] [--timeout S]
//       open URL, choose the key type, click #generate, wait (S seconds,
//       default 60) for #done, screenshot, save cert.pem, chain.pem,
//       cert.p7b and certificate.p12 (made with PW) into DIR; prints JSON
//       {"files": [...], "status": "text of #status"}.  With --profile
//       PDIR the browser keeps its storage (the key in IndexedDB) in PDIR,
//       so a second run on the same page finds the key again; when the
//       page is already "submitted" or "issued", #generate is not clicked.
//   node portal-flow.mjs pickup URL --out DIR [--shot SHOT.png]
//       open URL, save #download as DIR/bundle.p12, screenshot, click
//       #confirm-import, wait for #result; prints its data-state.
//   node portal-flow.mjs cert URL --out DIR
//       save #dl-cert, #dl-chain, #dl-p7b into DIR; prints JSON {"files"}.
//
// Any page error, console error or Content-Security-Policy violation is
// printed and fails the run.  Exit status 0 on success, 1 on a failure
// (the reason on stderr), 2 on a usage error.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

function usage(msg) {
	if (msg)
		process.stderr.write(`portal-flow: ${msg}\n`);
	process.stderr.write(
	    "usage: portal-flow.mjs confirm URL SHOT.png\n" +
	    "       portal-flow.mjs keygen URL [--alg rsa2048|p256] --p12pass PW " +
	    "[--p12alg aes256|compat] --out DIR [--shot SHOT.png] [--timeout S] " +
	    "[--profile PDIR]\n" +
	    "       portal-flow.mjs pickup URL --out DIR [--shot SHOT.png]\n" +
	    "       portal-flow.mjs cert URL --out DIR\n");
	process.exit(2);
}

function options(args, known) {
	const o = { pos: [] };
	for (let i = 0; i < args.length; i++) {
		const a = args[i];
		if (!a.startsWith("--")) {
			o.pos.push(a);
			continue;
		}
		const k = a.slice(2);
		if (!known.includes(k) || i + 1 >= args.length)
			usage(`bad option ${a}`);
		o[k] = args[++i];
	}
	return o;
}

class Failure extends Error {}

// open([PROFILE]): a browser; with a PROFILE directory, its storage
// (IndexedDB: the key) is kept there for a later run.
async function open(profile) {
	const launch = { executablePath: CHROMIUM, headless: true,
	    args: ["--no-sandbox"] };
	const ctxopt = { acceptDownloads: true,
	    viewport: { width: 1000, height: 800 } };
	let browser, context;
	if (profile) {
		fs.mkdirSync(profile, { recursive: true });
		context = await chromium.launchPersistentContext(profile,
		    { ...launch, ...ctxopt });
		browser = context;
	} else {
		browser = await chromium.launch(launch);
		context = await browser.newContext(ctxopt);
	}
	const problems = [];
	// CSP violations reach us through a binding the page cannot forge
	// past: the listener is installed before any page script runs.
	await context.exposeBinding("__portalFlowCsp", (_src, v) => {
		problems.push(`CSP violation: ${v}`);
	});
	await context.addInitScript(() => {
		document.addEventListener("securitypolicyviolation", (e) => {
			window.__portalFlowCsp(`${e.violatedDirective} blocked ` +
			    `${e.blockedURI || "(inline)"} in ${e.sourceFile || e.documentURI}` +
			    `:${e.lineNumber}`);
		});
	});
	context.on("page", (p) => watch(p, problems));
	for (const p of context.pages())
		watch(p, problems);
	const page = context.pages()[0] || await context.newPage();
	page.setDefaultTimeout(30000);
	return { browser, context, page, problems };
}

function watch(page, problems) {
	page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
	page.on("console", (m) => {
		if (m.type() !== "error")
			return;
		const where = m.location()?.url || "";
		// A missing favicon is the browser's own request, not the page's.
		if (/\/favicon\.ico$/.test(where))
			return;
		problems.push(`console error: ${m.text()}${where ? " (" + where + ")" : ""}`);
	});
}

function check(problems) {
	if (problems.length)
		throw new Failure(problems.join("\n"));
}

// save LINK into DIR as NAME (default: the name the browser suggests).
// A button, a link with a download attribute or a blob: URL is clicked
// and its download event saved; a plain http(s) link is fetched with the page's
// cookies, so that a server that shows the file inline is handled too.
async function save(page, context, selector, dir, name) {
	const a = page.locator(selector);
	if (await a.count() !== 1)
		throw new Failure(`${selector}: not on the page`);
	const href = await a.getAttribute("href");
	const hasDl = await a.evaluate((e) => e.hasAttribute("download"));
	const button = await a.evaluate((e) => e.tagName === "BUTTON");
	if (!href && !button)
		throw new Failure(`${selector}: no href`);
	if (button || hasDl || href.startsWith("blob:")) {
		const [dl] = await Promise.all([
			page.waitForEvent("download", { timeout: 60000 }),
			a.click(),
		]);
		const f = name || dl.suggestedFilename();
		await dl.saveAs(path.join(dir, f));
		if (await dl.failure())
			throw new Failure(`${selector}: download failed: ${await dl.failure()}`);
		return f;
	}
	const url = new URL(href, page.url()).toString();
	const r = await context.request.get(url);
	if (!r.ok())
		throw new Failure(`${selector}: GET ${url}: ${r.status()}`);
	const f = name || path.basename(new URL(url).pathname);
	fs.writeFileSync(path.join(dir, f), await r.body());
	return f;
}

async function goto(page, url) {
	const r = await page.goto(url, { waitUntil: "load" });
	if (!r || !r.ok())
		throw new Failure(`GET ${url}: ${r ? r.status() : "no answer"}`);
}

async function cmdConfirm(s, o) {
	const [url, shot] = o.pos;
	if (!url || !shot)
		usage("confirm needs URL SHOT.png");
	await goto(s.page, url);
	await s.page.screenshot({ path: shot, fullPage: true });
	await Promise.all([
		s.page.waitForNavigation({ waitUntil: "load" }),
		s.page.click("#confirm"),
	]);
	const state = await s.page.locator("#result").getAttribute("data-state",
	    { timeout: 30000 });
	check(s.problems);
	return state;
}

async function cmdKeygen(s, o) {
	const [url] = o.pos;
	const alg = o.alg || "rsa2048";
	const p12alg = o.p12alg || "aes256";
	const timeout = 1000 * Number(o.timeout || 60);
	if (!url || !o.out || !o.p12pass)
		usage("keygen needs URL, --p12pass and --out");
	if (!["rsa2048", "p256"].includes(alg))
		usage(`--alg ${alg}`);
	if (!["aes256", "compat"].includes(p12alg))
		usage(`--p12alg ${p12alg}`);
	fs.mkdirSync(o.out, { recursive: true });
	const page = s.page;
	await goto(page, url);
	const state = await page.locator("#keygen").getAttribute("data-state");
	if (state === "waiting_csr" || !state) {
		await page.selectOption("#alg", alg);
		await page.click("#generate");
	}
	// #done, or a final word in #status (refused, an error)
	await page.waitForFunction(() => {
		if (document.getElementById("done"))
			return true;
		const t = document.getElementById("status")?.textContent || "";
		return /^Error|refused/i.test(t);
	}, null, { timeout, polling: 200 });
	const status = () => page.locator("#status").textContent();
	if (await page.locator("#done").count() === 0)
		throw new Failure(`no certificate: ${await status()}`);
	if (o.shot)
		await page.screenshot({ path: o.shot, fullPage: true });
	const files = [];
	files.push(await save(page, s.context, "#dl-cert", o.out));
	files.push(await save(page, s.context, "#dl-chain", o.out));
	files.push(await save(page, s.context, "#dl-p7b", o.out));
	if (await page.locator("#make-p12").count() === 0)
		throw new Failure(`no PKCS#12 form: ${await status()}`);
	await page.fill("#p12pass", o.p12pass);
	await page.fill("#p12pass2", o.p12pass);
	await page.selectOption("#p12alg", p12alg);
	// the download, or a word in #p12error (password refused, failure)
	const dl = page.waitForEvent("download", { timeout });
	dl.catch(() => {});
	await page.click("#make-p12");
	const err = page.waitForFunction(() =>
		document.getElementById("p12error")?.textContent || false,
	    null, { timeout, polling: 100 }).then((h) => h.jsonValue());
	err.catch(() => {});
	const first = await Promise.race([dl, err]);
	if (typeof first === "string")
		throw new Failure(`certificate.p12: ${first}`);
	await first.saveAs(path.join(o.out, "certificate.p12"));
	files.push("certificate.p12");
	check(s.problems);
	return JSON.stringify({ files, status: (await status()).trim() });
}

async function cmdPickup(s, o) {
	const [url] = o.pos;
	if (!url || !o.out)
		usage("pickup needs URL and --out");
	fs.mkdirSync(o.out, { recursive: true });
	await goto(s.page, url);
	await save(s.page, s.context, "#download", o.out, "bundle.p12");
	if (o.shot)
		await s.page.screenshot({ path: o.shot, fullPage: true });
	await Promise.all([
		s.page.waitForNavigation({ waitUntil: "load" }),
		s.page.click("#confirm-import"),
	]);
	const state = await s.page.locator("#result").getAttribute("data-state",
	    { timeout: 30000 });
	check(s.problems);
	return state;
}

async function cmdCert(s, o) {
	const [url] = o.pos;
	if (!url || !o.out)
		usage("cert needs URL and --out");
	fs.mkdirSync(o.out, { recursive: true });
	await goto(s.page, url);
	const files = [];
	for (const id of ["#dl-cert", "#dl-chain", "#dl-p7b"])
		files.push(await save(s.page, s.context, id, o.out));
	check(s.problems);
	return JSON.stringify({ files });
}

const cmds = {
	confirm: [cmdConfirm, []],
	keygen: [cmdKeygen, ["alg", "p12pass", "p12alg", "out", "shot", "timeout",
	    "profile"]],
	pickup: [cmdPickup, ["out", "shot"]],
	cert: [cmdCert, ["out"]],
};

const [cmd, ...rest] = process.argv.slice(2);
if (!cmds[cmd])
	usage(cmd ? `unknown command ${cmd}` : null);
const o = options(rest, cmds[cmd][1]);
let s = null;
let code = 0;
try {
	s = await open(o.profile);
	const out = await cmds[cmd][0](s, o);
	process.stdout.write(`${out}\n`);
} catch (e) {
	const extra = s && s.problems.length && !(e instanceof Failure) ?
	    "\n" + s.problems.join("\n") : "";
	process.stderr.write(`portal-flow: ${cmd}: ${e.message}${extra}\n`);
	code = 1;
} finally {
	if (s)
		await s.browser.close().catch(() => {});
}
process.exit(code);
