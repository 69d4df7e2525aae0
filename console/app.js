// The W3bstream console: pages over a node's JSON-RPC (the `w3b_*` reads, the chain's
// storage through polkadot-js, the finalized-proof subscription), and owner actions
// signed in the browser with a key the user types (never stored).
//
// Everything the chain says is untrusted text: pages are built with DOM nodes and
// textContent only, never with HTML strings.

import {
  ApiPromise,
  WsProvider,
  Keyring,
  blake2AsHex,
  cryptoWaitReady,
} from "./vendor/polkadot.js";

/** Finalized proofs seen since the page opened, newest last (bounded). */
const MAX_PROOFS = 500;
/** Batches shown on a project's page. */
const RECENT_BATCHES = 10;
/** Minutes the per-minute charts cover. */
const CHART_MINUTES = 15;

const state = {
  api: null,
  provider: null,
  proofs: [],
  token: { symbol: "W3B", decimals: 12 },
  // Re-renders the live parts of the page on view; replaced by each page.
  onProof: null,
  // Forms built for the page on view (their fields' ids must differ).
  forms: 0,
};

// ---------------------------------------------------------------- DOM helpers

/** An element with attributes (`on*` are listeners) and children (text or nodes). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  append(element, children);
  return element;
}

function table(caption, headers, rows) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, headers.map((header) => h("th", { scope: "col" }, header)))),
      h("tbody", {}, rows),
    ),
  );
}

function short(hex) {
  return typeof hex === "string" && hex.length > 20 ? `${hex.slice(0, 10)}…${hex.slice(-8)}` : hex;
}

function amount(plancks) {
  const { symbol, decimals } = state.token;
  const value = BigInt(plancks ?? 0);
  const scale = 10n ** BigInt(decimals);
  const fraction = (value % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${value / scale}${fraction ? "." + fraction : ""} ${symbol}`;
}

function statusText(status) {
  return h("span", { class: `status-${status}` }, status ?? "unknown");
}

// ---------------------------------------------------------------- charts

/**
 * A bar chart as SVG with a text alternative: `series` is a list of
 * `{ label, values: [{ value, kind }] }` (stacked when several).
 */
function barChart(title, series, legend = []) {
  const id = `chart-${Math.random().toString(36).slice(2)}`;
  const width = 360;
  const height = 160;
  const bottom = 20;
  const max = Math.max(1, ...series.map((bar) => bar.values.reduce((sum, v) => sum + v.value, 0)));
  const slot = width / Math.max(1, series.length);
  const svg = s("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": id,
  });
  svg.append(s("title", { id }, `${title}: ${series.map((bar) => `${bar.label} ${bar.values.map((v) => v.value).join("+")}`).join(", ") || "no data yet"}`));
  series.forEach((bar, index) => {
    let y = height - bottom;
    for (const part of bar.values) {
      const barHeight = ((height - bottom - 12) * part.value) / max;
      y -= barHeight;
      svg.append(s("rect", { class: `bar ${part.kind ?? ""}`, x: index * slot + slot * 0.15, y, width: slot * 0.7, height: barHeight }));
    }
    if (series.length <= 6 || index % Math.ceil(series.length / 5) === 0 || index === series.length - 1) {
      svg.append(s("text", { x: index * slot + slot / 2, y: height - 5, "text-anchor": "middle" }, bar.label));
    }
  });
  svg.append(s("text", { x: 2, y: 10 }, `max ${max}`));
  return h(
    "figure",
    {},
    h("figcaption", {}, title),
    svg,
    legend.length
      ? h("div", { class: "legend" }, legend.map(([kind, label]) => h("span", {}, h("span", { class: `swatch bar ${kind}`, "aria-hidden": "true" }), label)))
      : null,
  );
}

/** Per-minute counts of the last CHART_MINUTES minutes from `proofs`. */
function perMinute(proofs, weight) {
  const now = Date.now();
  const bars = [];
  for (let minute = CHART_MINUTES - 1; minute >= 0; minute--) {
    const from = now - (minute + 1) * 60_000;
    const to = now - minute * 60_000;
    const value = proofs
      .filter((proof) => proof.receivedAt > from && proof.receivedAt <= to)
      .reduce((sum, proof) => sum + weight(proof), 0);
    bars.push({ label: minute === 0 ? "now" : `-${minute}m`, values: [{ value }] });
  }
  return bars;
}

// ---------------------------------------------------------------- chain access

/**
 * The node the page talks to: the one `config.json` next to the page names (the node
 * serving the console writes it; a web server serving these files may hold one), else
 * port 9944 of the page's host. Never taken from the URL: a link must not be able to
 * point this page, and the keys typed into it, at another node.
 */
async function rpcUrl() {
  try {
    const config = await (await fetch("config.json")).json();
    if (config.rpc) return config.rpc;
    return `ws://${location.hostname}:${config.rpcPort}`;
  } catch {
    return `ws://${location.hostname || "127.0.0.1"}:9944`;
  }
}

/** A `w3b_*` (or any) JSON-RPC method of the node. */
function call(method, params = []) {
  return state.provider.send(method, params);
}

async function connect() {
  const url = await rpcUrl();
  const connection = document.getElementById("connection");
  connection.textContent = `Connecting to ${url}…`;
  state.provider = new WsProvider(url);
  state.provider.on("disconnected", () => (connection.textContent = `Disconnected from ${url}, retrying…`));
  state.provider.on("connected", () => (connection.textContent = `Connected to ${url}`));
  state.api = await ApiPromise.create({ provider: state.provider, noInitWarn: true });
  const decimals = state.api.registry.chainDecimals[0];
  const symbol = state.api.registry.chainTokens[0];
  if (decimals !== undefined) state.token = { symbol: symbol ?? "units", decimals };
  const chain = await state.api.rpc.system.chain();
  connection.textContent = `Connected to ${chain} at ${url}`;
  await state.provider.subscribe("w3b_finalizedProof", "w3b_subscribeFinalizedProofs", [], (error, proof) => {
    if (!error && proof) onProof(proof);
  });
}

/** A finalized proof from the subscription: its batch size, latency and votes. */
async function onProof(proof) {
  const entry = { ...proof, receivedAt: Date.now(), messages: 0, latencyMs: null, votes: [] };
  try {
    const batch = await call("w3b_getBatch", [proof.project, proof.batchSeq]);
    if (batch) {
      entry.messages = batch.count ?? 0;
      if (batch.committedAtMs) entry.latencyMs = entry.receivedAt - batch.committedAtMs;
    }
    // The round stays open until its deadline: who voted what.
    const round = await state.api.query.attestations.rounds(proof.project, proof.batchSeq);
    if (round.isSome) {
      const { voters, votes } = round.unwrap();
      entry.voters = voters.map((voter) => voter.toString());
      entry.votes = votes.map(([voter, vote]) => ({
        voter: voter.toString(),
        agreed: vote.outputRoot.toHex() === proof.outputRoot,
      }));
    }
  } catch (error) {
    console.warn("details of a finalized proof", error);
  }
  state.proofs.push(entry);
  if (state.proofs.length > MAX_PROOFS) state.proofs.shift();
  state.onProof?.(entry);
}

async function projects(all = false) {
  const next = (await state.api.query.projects.nextProjectId()).toNumber();
  const found = [];
  for (let id = 0; id < next; id++) {
    const project = await call("w3b_getProject", [id]);
    if (project && (all || project.status !== "Closed")) found.push(project);
  }
  return found;
}

// ---------------------------------------------------------------- signing

/** Signs `tx` with the key `suri` and follows it to a finalized block, reporting on `outcome`. */
async function signAndFollow(tx, suri, outcome) {
  outcome.className = "outcome";
  if (!suri) throw new Error("Type the secret key that signs (a dev account such as //Alice, or a phrase).");
  await cryptoWaitReady();
  let pair;
  try {
    pair = new Keyring({ type: "sr25519", ss58Format: 42 }).addFromUri(suri);
  } catch (error) {
    throw new Error(`That is not a valid secret key: ${error.message}`);
  }
  outcome.textContent = `Signing as ${pair.address}…`;
  return new Promise((resolve, reject) => {
    tx.signAndSend(pair, ({ status, dispatchError, events }) => {
      if (status.isInBlock) outcome.textContent = "In a block, waiting for finality…";
      if (status.isInvalid || status.isDropped || status.isUsurped) reject(new Error(`The node dropped the transaction (${status.type}).`));
      if (status.isRetracted || status.isFinalityTimeout) reject(new Error(`The transaction's block left the chain (${status.type}): check before trying again.`));
      if (!status.isFinalized) return;
      if (dispatchError) {
        if (dispatchError.isModule) {
          const { section, name, docs } = state.api.registry.findMetaError(dispatchError.asModule);
          // Pallets by their runtime names, as `w3b` and the docs spell them.
          const pallet = section.charAt(0).toUpperCase() + section.slice(1);
          reject(new Error(`The chain refused it: ${pallet}.${name}: ${docs.join(" ")}`));
        } else {
          reject(new Error(`The chain refused it: ${dispatchError.toString()}`));
        }
      } else {
        resolve(events);
      }
    }).catch((error) => reject(new Error(`The node refused the transaction: ${error.message}`)));
  });
}

/** A form whose submit runs `action(values, outcome)`; reports the result accessibly. */
function actionForm(label, fields, submitText, action) {
  // Ids unique on the page (two forms may both ask for the key): `field-<form>-<name>`
  // for every form but the page's first, whose fields are `field-<name>`.
  const prefix = state.forms++ === 0 ? "field-" : `field-${label.toLowerCase().replace(/[^a-z]+/g, "-")}-`;
  const outcome = h("p", { class: "outcome", role: "status", "aria-live": "polite" });
  const inputs = {};
  const rows = fields.map((field) => {
    const input = h(field.tag ?? "input", {
      name: field.name,
      id: `${prefix}${field.name}`,
      type: field.type ?? "text",
      required: field.required,
      // "one-time-code" keeps password managers from offering to save the key.
      autocomplete: field.autocomplete ?? (field.type === "password" ? "one-time-code" : "off"),
      value: field.value,
      min: field.min,
      accept: field.accept,
      spellcheck: "false",
    });
    inputs[field.name] = input;
    return h("label", { for: `${prefix}${field.name}` }, field.label, field.hint ? h("span", { class: "hint" }, field.hint) : null, input);
  });
  const button = h("button", { type: "submit" }, submitText);
  const form = h("form", { "aria-label": label }, rows, button, outcome);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const done = await action(inputs, outcome);
      outcome.className = "outcome done";
      outcome.replaceChildren(...(Array.isArray(done) ? done : [done]));
    } catch (error) {
      outcome.className = "outcome error";
      outcome.textContent = error.message;
    } finally {
      // The key is not kept in the page once used.
      if (inputs.suri) inputs.suri.value = "";
      button.disabled = false;
    }
  });
  return form;
}

const keyField = {
  name: "suri",
  label: "Secret key that signs",
  hint: "A dev account (//Alice) or a mnemonic phrase. It stays in this page and is never stored or sent.",
  type: "password",
  required: true,
};

// ---------------------------------------------------------------- pages

async function projectsPage(main) {
  main.append(h("h1", {}, "Projects"));
  const cards = h("div", { class: "cards" });
  const charts = h("div", { class: "charts" });
  const feed = h("ol", { class: "feed", id: "proof-feed", "aria-live": "polite", "aria-label": "Finalized proofs, newest first" });
  main.append(
    h("h2", {}, "Live"),
    cards,
    charts,
    h("h2", {}, "Finalized proofs"),
    h("p", { class: "hint", id: "feed-empty" }, "Proofs appear here as they are finalized."),
    feed,
  );
  const render = () => {
    const proofs = state.proofs;
    const latencies = proofs.map((p) => p.latencyMs).filter((l) => l !== null).sort((a, b) => a - b);
    const median = latencies.length ? latencies[Math.floor(latencies.length / 2)] : null;
    cards.replaceChildren(
      card(proofs.length, "proofs finalized since this page opened"),
      card(proofs.reduce((sum, p) => sum + p.messages, 0), "messages in them"),
      card(median === null ? "–" : `${(median / 1000).toFixed(1)} s`, "median commitment-to-final latency"),
    );
    charts.replaceChildren(
      barChart("Messages finalized per minute", perMinute(proofs, (p) => p.messages)),
      barChart("Proofs finalized per minute", perMinute(proofs, () => 1)),
      barChart(
        "Commitment to final proof, seconds (last 20 batches)",
        proofs.slice(-20).map((p) => ({ label: `${p.project}/${p.batchSeq}`, values: [{ value: Math.round((p.latencyMs ?? 0) / 100) / 10 }] })),
      ),
    );
    feed.replaceChildren(
      ...proofs
        .slice(-20)
        .reverse()
        .map((p) =>
          h(
            "li",
            {},
            h("a", { href: `#/project/${p.project}` }, `project ${p.project}`),
            ` batch ${p.batchSeq}: ${p.messages} messages, ${p.agreed} agreed, output root `,
            h("code", {}, short(p.outputRoot)),
            ` (block ${p.blockNumber})`,
          ),
        ),
    );
    document.getElementById("feed-empty")?.toggleAttribute("hidden", proofs.length > 0);
  };
  render();
  state.onProof = render;

  main.append(h("h2", {}, "On chain"));
  const list = await projects();
  main.append(
    list.length
      ? table(
          "Projects",
          ["Id", "Name", "Status", "Operators needed", "Owner"],
          list.map((p) =>
            h(
              "tr",
              { "data-project": p.name },
              h("td", {}, p.id),
              h("td", {}, h("a", { href: `#/project/${p.id}` }, p.name)),
              h("td", {}, statusText(p.status)),
              h("td", {}, p.config.minOperators),
              h("td", { class: "hash" }, short(p.owner)),
            ),
          ),
        )
      : h("p", {}, "No projects yet. ", h("a", { href: "#/new" }, "Create one.")),
  );
}

function card(value, label) {
  return h("div", { class: "card" }, h("div", { class: "value" }, value), h("div", { class: "label" }, label));
}

async function projectPage(main, id) {
  const project = await call("w3b_getProject", [id]);
  if (!project) {
    main.append(h("h1", {}, `No project ${id}`), h("p", {}, h("a", { href: "#/" }, "All projects")));
    return;
  }
  const [applets, subnet, nextSeq] = await Promise.all([
    call("w3b_getApplets", [id]),
    call("w3b_getSubnet", [id]),
    call("w3b_getNextBatchSeq", [id]),
  ]);
  const devices = await state.api.query.projects.devices.entries(id);
  main.append(
    h("h1", {}, `Project ${project.name}`),
    h(
      "dl",
      { class: "facts" },
      fact("Id", project.id),
      fact("Status", statusText(project.status)),
      fact("Description", project.metadata || "–"),
      fact("Owner", project.owner, "hash"),
      fact("Operators needed", project.config.minOperators),
      fact("Attestation deadline", `${project.config.attestationDeadline} blocks`),
      fact("Reward per batch", amount(project.config.rewardPerBatch)),
      fact("Retention", project.config.retention.maxAgeSecs ? `${project.config.retention.maxAgeSecs} s` : "for ever"),
      fact("Bridge", project.config.bridge ? `chain ${project.config.bridge.chainId}, ${project.config.bridge.receiver}` : "none"),
    ),
  );

  // Live: this project's finalized proofs, and each operator's votes on them.
  const live = h("div", { class: "charts", id: "project-live" });
  main.append(h("h2", {}, "Live"), live);
  const renderLive = () => {
    const proofs = state.proofs.filter((p) => p.project === id);
    const operators = subnet.map((account) => {
      let agreed = 0;
      let dissented = 0;
      let missed = 0;
      for (const proof of proofs) {
        const vote = proof.votes.find((v) => v.voter === account);
        if (!vote) missed += 1;
        else if (vote.agreed) agreed += 1;
        else dissented += 1;
      }
      return { label: short(account), values: [{ value: agreed, kind: "good" }, { value: dissented, kind: "bad" }, { value: missed, kind: "warn" }] };
    });
    live.replaceChildren(
      barChart("Messages finalized per minute", perMinute(proofs, (p) => p.messages)),
      barChart("Each operator's votes on the proofs seen", operators, [["good", "agreed"], ["bad", "dissented"], ["warn", "missed"]]),
    );
  };
  renderLive();

  main.append(
    h("h2", {}, "Applets"),
    applets.length
      ? table(
          "Applets",
          ["Id", "Name", "Version", "Code", "Routes"],
          applets.map((a) =>
            h(
              "tr",
              {},
              h("td", {}, a.id),
              h("td", {}, a.name),
              h("td", {}, a.version),
              h("td", { class: "hash" }, short(a.codeHash)),
              h("td", {}, a.strategies.map((st) => `${st.eventType} → ${st.handler}`).join(", ")),
            ),
          ),
        )
      : h("p", {}, "No applets."),
    h("h2", {}, "Subnet"),
    subnet.length
      ? table("Subnet operators", ["Operator"], subnet.map((account) => h("tr", {}, h("td", { class: "hash" }, account))))
      : h("p", {}, "No operators yet."),
    h("h2", {}, "Devices"),
    devices.length
      ? table(
          "Devices",
          ["Device", "Status", "Registered at"],
          devices.map(([key, record]) => {
            const device = record.unwrap();
            return h(
              "tr",
              {},
              h("td", { class: "hash" }, short(key.args[1].toHex())),
              h("td", {}, statusText(device.status.toString())),
              h("td", {}, `block ${device.registeredAt.toString()}`),
            );
          }),
        )
      : h("p", {}, "No devices."),
  );

  const batches = h("tbody", { id: "batches" });
  main.append(
    h("h2", {}, "Batches and proofs"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h("caption", { class: "visually-hidden" }, "Recent batches"),
        h("thead", {}, h("tr", {}, ["Batch", "Messages", "Proof", "Agreed", "Output root"].map((t) => h("th", { scope: "col" }, t)))),
        batches,
      ),
    ),
  );
  const renderBatches = async () => {
    const next = await call("w3b_getNextBatchSeq", [id]);
    const rows = [];
    for (let seq = next - 1; seq >= Math.max(0, next - RECENT_BATCHES); seq--) {
      const [batch, proof] = await Promise.all([call("w3b_getBatch", [id, seq]), call("w3b_getProof", [id, seq])]);
      rows.push(
        h(
          "tr",
          {},
          h("td", {}, seq),
          h("td", {}, batch?.count ?? "–"),
          h("td", {}, statusText(proof?.status ?? (batch?.pruned ? "pruned" : "–"))),
          h("td", {}, proof ? `${proof.agreed} of ${proof.subnetSize}` : "–"),
          h("td", { class: "hash" }, short(proof?.outputRoot ?? "–")),
        ),
      );
    }
    batches.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 5 }, "No batches yet."))]));
  };
  await renderBatches();
  state.onProof = (proof) => {
    if (proof.project !== id) return;
    renderLive();
    renderBatches();
  };

  main.append(
    h("h2", {}, "Owner actions"),
    h("p", { class: "hint" }, "Signed here with the owner's key."),
    h("h3", {}, "Deploy an applet"),
    actionForm(
      "Deploy an applet",
      [
        { name: "wasm", label: "WASM module", type: "file", accept: ".wasm", required: true },
        { name: "appletName", label: "Applet name", required: true },
        { name: "eventType", label: "Event type", hint: "DEFAULT routes every event without a route of its own.", value: "DEFAULT", required: true },
        { name: "handler", label: "Handler", hint: "The exported function events go to.", value: "start", required: true },
        keyField,
      ],
      "Deploy",
      async (inputs, outcome) => {
        const file = inputs.wasm.files[0];
        if (!file) throw new Error("Choose the applet's WASM module.");
        const code = new Uint8Array(await file.arrayBuffer());
        const hash = blake2AsHex(code, 256);
        if (!(await call("w3b_getCodeInfo", [hash]))) {
          await signAndFollow(state.api.tx.projects.uploadCode(code), inputs.suri.value, outcome);
        }
        await signAndFollow(
          state.api.tx.projects.registerApplet(id, inputs.appletName.value, hash, [{ eventType: inputs.eventType.value, handler: inputs.handler.value }]),
          inputs.suri.value,
          outcome,
        );
        return `Applet ${inputs.appletName.value} deployed (code ${short(hash)}).`;
      },
    ),
    h("h3", {}, "Register a device"),
    actionForm(
      "Register a device",
      [{ name: "publicKey", label: "Device public key (ed25519, hex)", hint: "As `w3b device keygen` prints it.", required: true }, keyField],
      "Register",
      async (inputs, outcome) => {
        const key = inputs.publicKey.value.trim();
        if (!/^(0x)?[0-9a-fA-F]{64}$/.test(key)) throw new Error("The public key must be 32 bytes of hex.");
        await signAndFollow(state.api.tx.projects.registerDevice(id, { Ed25519: key.startsWith("0x") ? key : `0x${key}` }, null), inputs.suri.value, outcome);
        return "Device registered.";
      },
    ),
  );
}

function fact(term, value, className) {
  return [h("dt", {}, term), h("dd", { class: className }, value)];
}

async function operatorsPage(main) {
  main.append(h("h1", {}, "Operators"));
  const entries = await state.api.query.operators.operatorInfos.entries();
  const rows = [];
  for (const [key, info] of entries) {
    const account = key.args[0].toString();
    const operator = info.unwrap();
    const balance = await state.api.query.system.account(account);
    rows.push(
      h(
        "tr",
        {},
        h("td", { class: "hash" }, account),
        h("td", {}, amount(operator.bond.toString())),
        h("td", {}, operator.subnets.map((project) => h("a", { href: `#/project/${project}` }, `${project} `))),
        h("td", {}, amount(balance.data.free.toString())),
      ),
    );
  }
  main.append(
    rows.length ? table("Operators", ["Operator", "Bond", "Subnets", "Balance"], rows) : h("p", {}, "No operators registered."),
  );
}

function newProjectPage(main) {
  main.append(
    h("h1", {}, "New project"),
    h("p", {}, "You pay the project's deposit and own it. Applets and devices are added on its page."),
    actionForm(
      "Create a project",
      [
        { name: "projectName", label: "Name", hint: "Unique among open projects.", required: true },
        { name: "description", label: "Description" },
        { name: "minOperators", label: "Operators needed", hint: "The project takes messages once this many joined.", type: "number", value: "1", min: "1", required: true },
        keyField,
      ],
      "Create project",
      async (inputs, outcome) => {
        const name = inputs.projectName.value.trim();
        const config = {
          env: [],
          retention: { maxAgeSecs: 0, maxBytes: 0 },
          fuelPerBatch: 1_000_000_000,
          minOperators: Number(inputs.minOperators.value),
          attestationDeadline: 20,
          rewardPerBatch: 0,
          bridge: null,
        };
        const events = await signAndFollow(state.api.tx.projects.createProject(name, inputs.description.value, config), inputs.suri.value, outcome);
        const created = events.find(({ event }) => event.section === "projects" && event.method === "ProjectCreated");
        const id = created ? created.event.data[0].toString() : null;
        return id === null
          ? `Project ${name} created.`
          : [`Project ${name} created: `, h("a", { href: `#/project/${id}`, id: "created-link" }, `open project ${id}`), "."];
      },
    ),
  );
}

// ---------------------------------------------------------------- router

async function route() {
  const main = document.getElementById("main");
  state.onProof = null;
  state.forms = 0;
  main.replaceChildren();
  const path = location.hash.replace(/^#/, "") || "/";
  for (const link of document.querySelectorAll("nav a")) {
    const current = link.getAttribute("href").slice(1) === path;
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    const project = path.match(/^\/project\/(\d+)$/);
    if (project) {
      document.title = `Project ${project[1]} – W3bstream console`;
      await projectPage(main, Number(project[1]));
    } else if (path === "/operators") {
      document.title = "Operators – W3bstream console";
      await operatorsPage(main);
    } else if (path === "/new") {
      document.title = "New project – W3bstream console";
      newProjectPage(main);
    } else {
      document.title = "Projects – W3bstream console";
      await projectsPage(main);
    }
    main.setAttribute("data-loaded", path);
  } catch (error) {
    main.append(h("p", { class: "outcome error", role: "alert" }, `Could not load this page: ${error.message}`));
  }
}

window.addEventListener("hashchange", () => {
  route().then(() => document.getElementById("main").focus());
});

try {
  await connect();
  await route();
} catch (error) {
  document.getElementById("connection").textContent = `Cannot reach the node: ${error.message}`;
}
