// build.mjs: bundles src/keygen.js into OUTDIR/keygen.js (default
// assets/) with esbuild, and writes OUTDIR/THIRD-PARTY-LICENSES.txt with
// the license of every npm package that went into the bundle.  The same
// sources and lock file give the same bytes: no dates, no absolute paths.
// Usage: node build.mjs [OUTDIR]
import { build } from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(process.argv[2] || path.join(here, "assets"));
const pkg = (dir) => JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
const self = pkg(here);
const esbuildVersion = pkg(path.join(here, "node_modules", "esbuild")).version;

// First pass: which packages does the bundle take code from?
const probe = await build({
	absWorkingDir: here,
	entryPoints: ["src/keygen.js"],
	bundle: true,
	write: false,
	metafile: true,
	format: "iife",
	target: "es2020",
	minify: true,
	legalComments: "none",
});
const used = new Map();
for (const [file, info] of Object.entries(probe.metafile.outputs["<stdout>"]?.inputs ??
    Object.values(probe.metafile.outputs)[0].inputs)) {
	if (info.bytesInOutput === 0)
		continue;
	const m = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
	if (!m || used.has(m[1]))
		continue;
	const dir = path.join(here, "node_modules", m[1]);
	const p = pkg(dir);
	used.set(m[1], { name: p.name, version: p.version, license: p.license, dir });
}
const libs = [...used.values()].sort((a, b) => a.name.localeCompare(b.name));

// The license text: the package's LICENSE file, else the README's
// "License" section (des.js ships its MIT text only there).
function licenseText(lib) {
	const names = fs.readdirSync(lib.dir).filter((f) => /^licen[cs]e/i.test(f)).sort();
	if (names.length > 0)
		return fs.readFileSync(path.join(lib.dir, names[0]), "utf8").trim();
	const readme = fs.readdirSync(lib.dir).find((f) => /^readme/i.test(f));
	if (readme) {
		const t = fs.readFileSync(path.join(lib.dir, readme), "utf8");
		const m = t.match(/^#+\s*licen[cs]e\s*\n([\s\S]*?)(?=^#+\s|(?![\s\S]))/im);
		if (m)
			return m[1].trim();
	}
	throw new Error(`${lib.name}: no license text found`);
}

const list = libs.map((l) => `${l.name} ${l.version} (${l.license})`).join(", ");
const banner = `/*! certspool keygen.js ${self.version}: browser key generation, ` +
    `PKCS#10, PKCS#7 and PKCS#12 for the certspool portal.\n` +
    ` * Built from web/src with esbuild ${esbuildVersion} (make web-assets).\n` +
    ` * Bundles: ${list}.\n` +
    ` * Their licenses: THIRD-PARTY-LICENSES.txt next to this file. */`;

const out = await build({
	absWorkingDir: here,
	entryPoints: ["src/keygen.js"],
	bundle: true,
	write: false,
	format: "iife",
	target: "es2020",
	minify: true,
	legalComments: "none",
	charset: "ascii",
	banner: { js: banner },
});
fs.mkdirSync(outdir, { recursive: true });
fs.writeFileSync(path.join(outdir, "keygen.js"), out.outputFiles[0].contents);

let lic = `Third-party software bundled in keygen.js (certspool keygen.js ${self.version}).\n` +
    `Each package's license text follows, as its npm package ships it.\n`;
for (const l of libs)
	lic += `\n${"=".repeat(72)}\n${l.name} ${l.version} (${l.license})\n` +
	    `${"=".repeat(72)}\n\n${licenseText(l)}\n`;
fs.writeFileSync(path.join(outdir, "THIRD-PARTY-LICENSES.txt"), lic);
console.log(`wrote ${path.join(outdir, "keygen.js")} (${out.outputFiles[0].contents.length} bytes): ${list}`);
