// Validates every Kubernetes manifest under the given directory against the
// API's schemas, offline: each document must be a known kind, and
// kubernetes-models' validate() must accept it (required fields, types).
// Usage: node validate_manifests.js DIR, with the script copied into a folder
// where kubernetes-models, yaml and @kubernetes-models/prometheus-operator
// are installed (ES module imports resolve from the script's folder).
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/")
    ? apiVersion.split("/")
    : ["", apiVersion];
  const candidates = group.endsWith("coreos.com")
    ? [`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`]
    : [group === "" ? `kubernetes-models/${version}/${kind}`
                    : `kubernetes-models/${group}/${version}/${kind}`];
  for (const name of candidates) {
    try {
      // Some packages are ES modules only: import() loads both kinds.
      const module = await import(name);
      return module[kind] || (module.default && module.default[kind]) || null;
    } catch (e) {
      if (!/Cannot find|not defined by "exports"|ERR_MODULE_NOT_FOUND/.test(String(e))) throw e;
    }
  }
  return null;
}


async function main() {
const dir = process.argv[2];
let documents = 0, failures = 0;
for (const file of fs.readdirSync(dir).filter(f => /\.ya?ml$/.test(f))) {
  const text = fs.readFileSync(path.join(dir, file), "utf8");
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length) {
      console.error(`${file}: ${doc.errors[0].message}`);
      failures++;
      continue;
    }
    const object = doc.toJS();
    if (object == null) continue;
    documents++;
    const where = `${file}: ${object.kind} ${object.metadata && object.metadata.name}`;
    const Model = await modelFor(object.apiVersion, object.kind);
    if (!Model) {
      console.error(`${where}: unknown kind ${object.apiVersion} ${object.kind}`);
      failures++;
      continue;
    }
    try {
      new Model(object).validate();
    } catch (e) {
      console.error(`${where}: ${e.message}`);
      failures++;
    }
  }
}
console.log(`${documents} documents checked, ${failures} failure(s)`);
process.exit(failures === 0 && documents > 0 ? 0 : 1);
}

main().catch(e => { console.error(e); process.exit(1); });
