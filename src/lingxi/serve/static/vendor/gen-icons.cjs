// node gen-icons.cjs OUT (run in a folder where lucide-static is npm-installed): writes the page's icons.js from lucide-static's icon-nodes.json
const nodes = require("./node_modules/lucide-static/icon-nodes.json");
const version = require("./node_modules/lucide-static/package.json").version;
const names = ("plus square-pen trash copy check thumbs-up thumbs-down arrow-up square menu sun moon settings keyboard x " +
  "file-text external-link search book-open panel-left message-square refresh-cw circle-alert key-round languages").split(" ");
const out = {};
for (const n of names) { if (!nodes[n]) throw new Error("no icon " + n); out[n] = nodes[n]; }
const body = `// Icon shapes from lucide-static ${version} (ISC licence: ../vendor/lucide-${version}/LICENSE), written by
// vendor/gen-icons.js (see ../vendor/README.md). Inline SVG: no icon font, no emoji font needed.
export const SHAPES = ${JSON.stringify(out)};

const NS = "http://www.w3.org/2000/svg";

/** An <svg> element for the icon \`name\`, drawn in currentColor. */
export function icon(name, size = 18) {
  const svg = document.createElementNS(NS, "svg");
  const attrs = {width: size, height: size, viewBox: "0 0 24 24", fill: "none", stroke: "currentColor",
    "stroke-width": 2, "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true",
    class: "icon icon-" + name};
  for (const [k, v] of Object.entries(attrs)) svg.setAttribute(k, String(v));
  for (const [tag, shape] of SHAPES[name]) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(shape)) el.setAttribute(k, String(v));
    svg.appendChild(el);
  }
  return svg;
}
`;
require("fs").writeFileSync(process.argv[2], body);
