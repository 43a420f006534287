/*
 * p12.js: a PKCS#12 file (RFC 7292) built in the browser from a WebCrypto
 * private key, its certificate and the chain.  The ASN.1 is encoded with
 * asn1js; the cryptography is WebCrypto, except DES-EDE3-CBC, which
 * WebCrypto lacks (des.js).
 *
 * Two profiles:
 *  "aes256": key bag and certificate bag encrypted with PBES2 (PBKDF2 with
 *            HMAC-SHA256, 600000 iterations, 16-byte salt; AES-256-CBC),
 *            integrity MAC HMAC-SHA256 (key from the RFC 7292 appendix B
 *            KDF, 2048 iterations).  What OpenSSL 3 writes by default.
 *  "compat": pbeWithSHAAnd3-KeyTripleDES-CBC for the key bag and the
 *            certificate bag (RFC 7292 appendix B KDF with SHA-1, 2048
 *            iterations), MAC HMAC-SHA1.  Read by older macOS and Windows.
 * Failure policy: every function rejects (throws) on a failure; nothing
 * is written anywhere, the caller gets the DER bytes or an error.
 */
import * as asn1js from "asn1js";
import des from "des.js";

const OID = {
	data: "1.2.840.113549.1.7.1",
	encryptedData: "1.2.840.113549.1.7.6",
	keyBag8: "1.2.840.113549.1.12.10.1.2",	/* pkcs8ShroudedKeyBag */
	certBag: "1.2.840.113549.1.12.10.1.3",
	x509Certificate: "1.2.840.113549.1.9.22.1",
	friendlyName: "1.2.840.113549.1.9.20",
	localKeyId: "1.2.840.113549.1.9.21",
	pbes2: "1.2.840.113549.1.5.13",
	pbkdf2: "1.2.840.113549.1.5.12",
	hmacWithSHA256: "1.2.840.113549.2.9",
	aes256cbc: "2.16.840.1.101.3.4.1.42",
	pbeSHA3DES: "1.2.840.113549.1.12.1.3",
	sha1: "1.3.14.3.2.26",
	sha256: "2.16.840.1.101.3.4.2.1",
};

export const PBKDF2_ITERATIONS = 600000;
export const PKCS12_ITERATIONS = 2048;

function subtle() {
	return globalThis.crypto.subtle;
}

function random(n) {
	const b = new Uint8Array(n);
	globalThis.crypto.getRandomValues(b);
	return b;
}

function der(node) {
	return new Uint8Array(node.toBER(false));
}

function oid(value) {
	return new asn1js.ObjectIdentifier({ value });
}

function octets(bytes) {
	return new asn1js.OctetString({ valueHex: bytes });
}

function seq(...value) {
	return new asn1js.Sequence({ value });
}

function explicit0(node) {
	return new asn1js.Constructed({
		idBlock: { tagClass: 3, tagNumber: 0 },
		value: [node],
	});
}

function algid(o, params) {
	return params === undefined ? seq(oid(o)) : seq(oid(o), params);
}

/* The password as RFC 7292 B.1 wants it: BMPString, two zero bytes. */
function bmpPassword(pw) {
	const b = new Uint8Array(pw.length * 2 + 2);
	for (let i = 0; i < pw.length; i++) {
		const c = pw.charCodeAt(i);
		b[2 * i] = c >> 8;
		b[2 * i + 1] = c & 0xff;
	}
	return b;
}

/*
 * RFC 7292 appendix B.2: derive n bytes of purpose id (1 key, 2 IV,
 * 3 MAC key) with hash "SHA-1" or "SHA-256" (block size 64 for both).
 */
export async function pkcs12Kdf(hash, id, password, salt, iterations, n) {
	const u = hash === "SHA-1" ? 20 : 32;
	const v = 64;
	const fill = (src) => {
		const len = v * Math.ceil(src.length / v);
		const out = new Uint8Array(len);
		for (let i = 0; i < len; i++)
			out[i] = src[i % src.length];
		return out;
	};
	const D = new Uint8Array(v).fill(id);
	const S = salt.length ? fill(salt) : new Uint8Array(0);
	const P = password.length ? fill(password) : new Uint8Array(0);
	const I = new Uint8Array(S.length + P.length);
	I.set(S);
	I.set(P, S.length);
	const c = Math.ceil(n / u);
	const out = new Uint8Array(c * u);
	for (let i = 0; i < c; i++) {
		let A = new Uint8Array(v + I.length);
		A.set(D);
		A.set(I, v);
		for (let r = 0; r < iterations; r++)
			A = new Uint8Array(await subtle().digest(hash, A));
		out.set(A, i * u);
		if (i + 1 === c)
			break;
		const B = new Uint8Array(v);
		for (let k = 0; k < v; k++)
			B[k] = A[k % u];
		/* I_j = (I_j + B + 1) mod 2^(8v), big-endian, for each block */
		for (let j = 0; j < I.length; j += v) {
			let carry = 1;
			for (let k = v - 1; k >= 0; k--) {
				const s = I[j + k] + B[k] + carry;
				I[j + k] = s & 0xff;
				carry = s >> 8;
			}
		}
	}
	return out.slice(0, n);
}

/* DES-EDE3-CBC with PKCS#7 padding. */
function tripleDesCbc(key, iv, data) {
	const c = des.CBC.instantiate(des.EDE).create({
		type: "encrypt",
		key: Array.from(key),
		iv: Array.from(iv),
	});
	return new Uint8Array(c.update(Array.from(data)).concat(c.final()));
}

/*
 * Encrypt data for profile; returns { alg: AlgorithmIdentifier node,
 * ct: ciphertext bytes }.
 */
async function encrypt(profile, password, data) {
	if (profile === "compat") {
		const salt = random(8);
		const pw = bmpPassword(password);
		const key = await pkcs12Kdf("SHA-1", 1, pw, salt,
		    PKCS12_ITERATIONS, 24);
		const iv = await pkcs12Kdf("SHA-1", 2, pw, salt,
		    PKCS12_ITERATIONS, 8);
		return {
			alg: algid(OID.pbeSHA3DES, seq(octets(salt),
			    new asn1js.Integer({ value: PKCS12_ITERATIONS }))),
			ct: tripleDesCbc(key, iv, data),
		};
	}
	const salt = random(16);
	const iv = random(16);
	const base = await subtle().importKey("raw",
	    new TextEncoder().encode(password), "PBKDF2", false, ["deriveKey"]);
	const key = await subtle().deriveKey({
		name: "PBKDF2", hash: "SHA-256", salt,
		iterations: PBKDF2_ITERATIONS,
	}, base, { name: "AES-CBC", length: 256 }, false, ["encrypt"]);
	const ct = new Uint8Array(await subtle().encrypt(
	    { name: "AES-CBC", iv }, key, data));
	const params = seq(
	    algid(OID.pbkdf2, seq(octets(salt),
		new asn1js.Integer({ value: PBKDF2_ITERATIONS }),
		algid(OID.hmacWithSHA256, new asn1js.Null()))),
	    algid(OID.aes256cbc, octets(iv)));
	return { alg: algid(OID.pbes2, params), ct };
}

function bagAttributes(name, keyId) {
	const attrs = [];
	if (name)
		attrs.push(seq(oid(OID.friendlyName), new asn1js.Set({
			value: [new asn1js.BmpString({ value: name })] })));
	if (keyId)
		attrs.push(seq(oid(OID.localKeyId), new asn1js.Set({
			value: [octets(keyId)] })));
	return new asn1js.Set({ value: attrs });
}

function certBag(certDer, name, keyId) {
	const v = [oid(OID.certBag),
	    explicit0(seq(oid(OID.x509Certificate), explicit0(octets(certDer))))];
	if (name || keyId)
		v.push(bagAttributes(name, keyId));
	return seq(...v);
}

/*
 * makePkcs12({ privateKey, certDer, chainDers, password, profile, name }):
 * the DER bytes of a PFX.  privateKey must be extractable.
 */
export async function makePkcs12(o) {
	const { privateKey, certDer, chainDers, password, profile, name } = o;
	if (profile !== "aes256" && profile !== "compat")
		throw new Error("unknown PKCS#12 profile " + profile);
	const keyId = new Uint8Array(await subtle().digest("SHA-1", certDer));
	const pkcs8 = new Uint8Array(await subtle().exportKey("pkcs8",
	    privateKey));

	/* the key: a shrouded key bag in a plain data SafeContents */
	const ek = await encrypt(profile, password, pkcs8);
	const keyBag = seq(oid(OID.keyBag8),
	    explicit0(seq(ek.alg, octets(ek.ct))),
	    bagAttributes(name, keyId));
	const keySafe = der(seq(keyBag));

	/* the certificates: a SafeContents inside an EncryptedData */
	const bags = [certBag(certDer, name, keyId)];
	for (const c of chainDers)
		bags.push(certBag(c, null, null));
	const ec = await encrypt(profile, password, der(seq(...bags)));
	const encData = seq(new asn1js.Integer({ value: 0 }),
	    seq(oid(OID.data), ec.alg, new asn1js.Primitive({
		idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: ec.ct })));

	const authSafe = der(seq(
	    seq(oid(OID.encryptedData), explicit0(encData)),
	    seq(oid(OID.data), explicit0(octets(keySafe)))));

	/* integrity: HMAC over the AuthenticatedSafe DER */
	const hash = profile === "compat" ? "SHA-1" : "SHA-256";
	const macSalt = random(profile === "compat" ? 8 : 16);
	const macKey = await pkcs12Kdf(hash, 3, bmpPassword(password),
	    macSalt, PKCS12_ITERATIONS, hash === "SHA-1" ? 20 : 32);
	const hk = await subtle().importKey("raw", macKey,
	    { name: "HMAC", hash }, false, ["sign"]);
	const mac = new Uint8Array(await subtle().sign("HMAC", hk, authSafe));
	const macData = seq(
	    seq(algid(hash === "SHA-1" ? OID.sha1 : OID.sha256,
		new asn1js.Null()), octets(mac)),
	    octets(macSalt),
	    new asn1js.Integer({ value: PKCS12_ITERATIONS }));

	return der(seq(new asn1js.Integer({ value: 3 }),
	    seq(oid(OID.data), explicit0(octets(authSafe))),
	    macData));
}
