/*
 * keygen.js: the key generation page of the certspool portal
 * (GET /keygen/TOKEN).  Reads <main id="keygen" data-csrf data-submit
 * data-status data-email data-state>, builds the page inside it with DOM
 * APIs, makes the key pair with WebCrypto (RSA 2048 / SHA-256 or ECDSA
 * P-256), keeps it in IndexedDB under the token of the page URL, posts
 * only a PKCS#10 request (PKI.js), long-polls the status, and once issued
 * offers cert.pem, chain.pem, cert.p7b (PKCS#7 certs-only, PKI.js) and a
 * PKCS#12 made here from the key the browser holds (p12.js).
 * Failure policy: the private key never leaves the browser; every failure
 * is shown in #status (or next to the password form) in words, the
 * button it came from is enabled again, nothing is retried behind the
 * user's back except the status poll after a network error.
 */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { makePkcs12 } from "./p12.js";

const DB_NAME = "certspool-keygen";
const STORE = "keys";
const MIN_PASSWORD = 8;

const ALGS = {
	rsa2048: {
		label: "RSA 2048 bit (recommended, works everywhere)",
		gen: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048,
		    publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
	},
	p256: {
		label: "ECDSA P-256",
		gen: { name: "ECDSA", namedCurve: "P-256" },
	},
};

/* ---- small DOM helpers ------------------------------------------------ */

function el(tag, attrs, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === false || v === null || v === undefined)
			continue;
		if (k === "text")
			e.textContent = v;
		else
			e.setAttribute(k, v === true ? "" : v);
	}
	for (const c of children)
		e.append(c);
	return e;
}

/* ---- IndexedDB: { token, alg, privateKey, publicKey, created } ---------- */

function dbOpen() {
	return new Promise((resolve, reject) => {
		const rq = indexedDB.open(DB_NAME, 1);
		rq.onupgradeneeded = () =>
			rq.result.createObjectStore(STORE, { keyPath: "token" });
		rq.onsuccess = () => resolve(rq.result);
		rq.onerror = () => reject(rq.error);
	});
}

async function dbDo(mode, fn) {
	const db = await dbOpen();
	try {
		return await new Promise((resolve, reject) => {
			const tx = db.transaction(STORE, mode);
			const rq = fn(tx.objectStore(STORE));
			let result;
			rq.onsuccess = () => { result = rq.result; };
			tx.oncomplete = () => resolve(result);
			tx.onerror = () => reject(tx.error);
			tx.onabort = () => reject(tx.error);
		});
	} finally {
		db.close();
	}
}

const keyStore = {
	get: (token) => dbDo("readonly", (s) => s.get(token)),
	put: (rec) => dbDo("readwrite", (s) => s.put(rec)),
};

/* ---- encodings --------------------------------------------------------- */

function b64(bytes) {
	let s = "";
	const u = new Uint8Array(bytes);
	for (let i = 0; i < u.length; i += 0x8000)
		s += String.fromCharCode.apply(null, u.subarray(i, i + 0x8000));
	return btoa(s);
}

function pem(label, bytes) {
	const lines = b64(bytes).match(/.{1,64}/g) || [];
	return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/* Every CERTIFICATE block of a PEM text, as DER bytes. */
function pemCerts(text) {
	const out = [];
	const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;
	let m;
	while ((m = re.exec(text || "")) !== null) {
		const bin = atob(m[1].replace(/\s+/g, ""));
		const u = new Uint8Array(bin.length);
		for (let i = 0; i < bin.length; i++)
			u[i] = bin.charCodeAt(i);
		out.push(u);
	}
	return out;
}

/* ---- PKCS#10 and PKCS#7 ------------------------------------------------ */

async function makeCsr(keys, email) {
	const csr = new pkijs.CertificationRequest();
	csr.version = 0;
	csr.subject.typesAndValues.push(new pkijs.AttributeTypeAndValue({
		type: "2.5.4.3",
		value: new asn1js.Utf8String({ value: email || "certificate" }),
	}));
	await csr.subjectPublicKeyInfo.importKey(keys.publicKey);
	await csr.sign(keys.privateKey, "SHA-256");
	return pem("CERTIFICATE REQUEST", csr.toSchema().toBER(false));
}

/* A degenerate (certs-only) SignedData in a ContentInfo, DER. */
function makeP7b(ders) {
	const certificates = ders.map((d) =>
		pkijs.Certificate.fromBER(d));
	const sd = new pkijs.SignedData({
		version: 1,
		encapContentInfo: new pkijs.EncapsulatedContentInfo({
			eContentType: "1.2.840.113549.1.7.1",
		}),
		digestAlgorithms: [],
		certificates,
		signerInfos: [],
	});
	const ci = new pkijs.ContentInfo({
		contentType: "1.2.840.113549.1.7.2",
		content: sd.toSchema(true),
	});
	return new Uint8Array(ci.toSchema().toBER(false));
}

/* ---- the page ---------------------------------------------------------- */

class KeygenPage {
	constructor(main) {
		this.main = main;
		const d = main.dataset;
		this.csrf = d.csrf || "";
		this.submitUrl = d.submit;
		this.statusUrl = d.status;
		this.email = d.email || "";
		this.state = d.state || "waiting_csr";
		this.token = location.pathname.split("/").filter(Boolean).pop() ||
		    this.submitUrl;
		this.urls = [];
	}

	build() {
		const sel = el("select", { id: "alg", name: "alg" });
		for (const [k, a] of Object.entries(ALGS))
			sel.append(el("option", { value: k, text: a.label,
			    selected: k === "rsa2048" }));
		this.alg = sel;
		this.generate = el("button", { id: "generate", type: "button",
		    text: "Generate key and request certificate" });
		this.status = el("p", { id: "status", role: "status",
		    "aria-live": "polite" });
		this.form = el("section", { id: "request" },
		    el("p", { text: "Your private key is made in this browser " +
			"and never leaves it; only the certificate request " +
			"is sent." }),
		    el("label", { for: "alg", text: "Key type " }), sel, " ",
		    this.generate);
		this.main.append(this.form, this.status);
		this.generate.addEventListener("click", () => this.onGenerate());
	}

	say(text) {
		this.status.textContent = text;
	}

	busy(on) {
		this.generate.disabled = on;
		this.alg.disabled = on;
	}

	async start() {
		this.build();
		if (!window.isSecureContext || !globalThis.crypto ||
		    !crypto.subtle || !window.indexedDB) {
			this.busy(true);
			this.say("Error: this page needs HTTPS and a browser " +
			    "with WebCrypto and IndexedDB to make your key.");
			return;
		}
		let rec = null;
		try {
			rec = await keyStore.get(this.token);
		} catch (e) {
			rec = null;
		}
		this.rec = rec || null;
		switch (this.state) {
		case "issued":
			this.form.hidden = true;
			await this.pollOnce();
			break;
		case "submitted":
			this.form.hidden = true;
			if (!this.rec)
				this.say("The request was sent from another " +
				    "browser or this browser's storage was " +
				    "cleared: the private key is not here. " +
				    "Waiting for the certificate anyway.");
			else
				this.say("Request sent; waiting for the " +
				    "certificate…");
			await this.poll();
			break;
		case "refused":
			this.form.hidden = true;
			this.say("This request was refused.");
			break;
		default:
			this.say(this.rec ? "A key made earlier in this " +
			    "browser is kept; generating again replaces it." :
			    "Choose a key type and press Generate.");
		}
	}

	async onGenerate() {
		this.busy(true);
		try {
			const a = ALGS[this.alg.value] || ALGS.rsa2048;
			this.say("Generating the key…");
			const keys = await crypto.subtle.generateKey(a.gen, true,
			    ["sign", "verify"]);
			this.rec = { token: this.token, alg: this.alg.value,
			    privateKey: keys.privateKey,
			    publicKey: keys.publicKey, created: Date.now() };
			try {
				await keyStore.put(this.rec);
			} catch (e) {
				throw new Error("this browser cannot keep the " +
				    "key (IndexedDB: " + (e && e.message) + ")");
			}
			this.say("Building the certificate request…");
			const csr = await makeCsr(keys, this.email);
			this.say("Sending the certificate request…");
			const body = new URLSearchParams();
			body.set("csrf", this.csrf);
			body.set("csr", csr);
			const r = await fetch(this.submitUrl, {
				method: "POST",
				credentials: "same-origin",
				headers: { "Content-Type":
				    "application/x-www-form-urlencoded" },
				body: body.toString(),
			});
			let j = {};
			try {
				j = await r.json();
			} catch (e) {
				j = {};
			}
			if (!r.ok)
				throw new Error(j.error || `the server answered ${r.status}`);
			this.form.hidden = true;
			this.say("Request sent; waiting for the certificate…");
			await this.poll();
		} catch (e) {
			this.say("Error: " + (e && e.message ? e.message : e));
			this.busy(false);
		}
	}

	async fetchStatus() {
		const r = await fetch(this.statusUrl, { credentials: "same-origin",
		    cache: "no-store" });
		const j = await r.json();
		if (!r.ok)
			throw new Error(j.error || `the server answered ${r.status}`);
		return j;
	}

	async pollOnce() {
		try {
			const j = await this.fetchStatus();
			await this.handle(j);
		} catch (e) {
			this.say("Error: " + e.message);
		}
	}

	async poll() {
		let failures = 0;
		for (;;) {
			const t0 = Date.now();
			let j;
			try {
				j = await this.fetchStatus();
				failures = 0;
			} catch (e) {
				failures++;
				this.say(`Cannot reach the server (${e.message}); ` +
				    "trying again…");
				await sleep(Math.min(30000, 1000 * 2 ** failures));
				continue;
			}
			if (await this.handle(j))
				return;
			/* a server that answers at once must not be hammered */
			if (Date.now() - t0 < 1000)
				await sleep(1000);
		}
	}

	/* Show a status answer; true when the state is final. */
	async handle(j) {
		switch (j.state) {
		case "issued":
			await this.showDone(j);
			return true;
		case "refused":
			this.say("The request was refused" +
			    (j.message ? ": " + j.message : "."));
			return true;
		case "waiting_csr":
			this.say(j.message || "Waiting for the request…");
			return false;
		default:
			this.say(j.message || "Waiting for the certificate…");
			return false;
		}
	}

	link(id, name, type, data) {
		const url = URL.createObjectURL(new Blob([data], { type }));
		this.urls.push(url);
		return el("a", { id, href: url, download: name, text: name });
	}

	async showDone(j) {
		const certs = pemCerts(j.cert_pem);
		const chain = pemCerts(j.chain_pem);
		if (certs.length === 0) {
			this.say("Error: the server sent no certificate.");
			return;
		}
		const done = el("section", { id: "done" });
		done.append(el("h2", { text: "Certificate files" }),
		    el("ul", {},
			el("li", {}, this.link("dl-cert", "cert.pem",
			    "application/x-pem-file", j.cert_pem)),
			el("li", {}, this.link("dl-chain", "chain.pem",
			    "application/x-pem-file", j.chain_pem || "")),
			el("li", {}, this.link("dl-p7b", "cert.p7b",
			    "application/pkcs7-mime",
			    makeP7b([certs[0], ...chain])))));
		if (this.rec && await this.keyMatches(certs[0])) {
			done.append(this.p12Form(certs[0], chain));
			this.say("Your certificate is issued.");
		} else {
			done.append(el("p", { id: "nokey", text: "The private " +
			    "key of this certificate is not in this browser " +
			    "(another browser, or its storage was cleared), so " +
			    "no PKCS#12 file can be made here." }));
			this.say("Your certificate is issued, but its private " +
			    "key is not in this browser.");
		}
		this.main.append(done);
	}

	/* The stored key is the certificate's (compare the public keys). */
	async keyMatches(certDer) {
		try {
			const c = pkijs.Certificate.fromBER(certDer);
			const a = new Uint8Array(c.subjectPublicKeyInfo.toSchema()
			    .toBER(false));
			const b = new Uint8Array(await crypto.subtle.exportKey(
			    "spki", this.rec.publicKey));
			return a.length === b.length &&
			    a.every((x, i) => x === b[i]);
		} catch (e) {
			return false;
		}
	}

	p12Form(certDer, chain) {
		const p1 = el("input", { id: "p12pass", type: "password",
		    autocomplete: "new-password", minlength: String(MIN_PASSWORD) });
		const p2 = el("input", { id: "p12pass2", type: "password",
		    autocomplete: "new-password", minlength: String(MIN_PASSWORD) });
		const alg = el("select", { id: "p12alg" },
		    el("option", { value: "aes256", selected: true,
			text: "AES-256 (current systems)" }),
		    el("option", { value: "compat", text: "Compatible with " +
			"older macOS/Windows (3DES, SHA-1)" }));
		const btn = el("button", { id: "make-p12", type: "submit",
		    text: "Download certificate.p12" });
		const err = el("p", { id: "p12error", role: "alert" });
		const save = el("a", { id: "p12link", hidden: true });
		const form = el("form", { id: "p12form", novalidate: true });
		form.addEventListener("submit", async (ev) => {
			ev.preventDefault();
			err.textContent = "";
			if (p1.value.length < MIN_PASSWORD) {
				err.textContent = `The password needs at least ${MIN_PASSWORD} characters.`;
				return;
			}
			if (p1.value !== p2.value) {
				err.textContent = "The two passwords differ.";
				return;
			}
			btn.disabled = true;
			this.say("Building certificate.p12…");
			try {
				const der = await makePkcs12({
					privateKey: this.rec.privateKey,
					certDer, chainDers: chain,
					password: p1.value, profile: alg.value,
					name: this.email || "certificate",
				});
				const url = URL.createObjectURL(new Blob([der],
				    { type: "application/x-pkcs12" }));
				this.urls.push(url);
				save.href = url;
				save.download = "certificate.p12";
				save.click();
				this.say("certificate.p12 is saved; import it " +
				    "with the password you chose.");
			} catch (e) {
				err.textContent = "Error: " + e.message;
				this.say("Building certificate.p12 failed.");
			}
			btn.disabled = false;
		});
		form.append(
		    el("h3", { text: "PKCS#12 file (certificate and key)" }),
		    el("p", { text: "Choose a password; it protects the file." }),
		    el("p", {}, el("label", { for: "p12pass", text: "Password " }), p1),
		    el("p", {}, el("label", { for: "p12pass2",
			text: "Password again " }), p2),
		    el("p", {}, el("label", { for: "p12alg", text: "Encryption " }),
			alg),
		    el("p", {}, btn), err, save);
		return form;
	}
}

function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

function main() {
	const m = document.getElementById("keygen");
	if (!m)
		return;
	new KeygenPage(m).start();
}

if (document.readyState === "loading")
	document.addEventListener("DOMContentLoaded", main);
else
	main();
