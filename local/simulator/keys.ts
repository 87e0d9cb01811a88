import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject, randomInt } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { certificateSerial, createSelfSignedCertificate } from "#shared/devkeys/self-signed-certificate.js";
import { randomNonce } from "./crypto/nonce.js";
import { SimulatorError } from "./errors.js";
import type { SimulatorFileConfig, SimulatorKeyMaterial, SimulatorMode } from "./types.js";

export const CONFIG_FILE = "simulator.json";
export const DEFAULT_MCHID = "1900000001";
export const DEFAULT_APPID = "wxd678efh567hg6787";
export const DEFAULT_MODE: SimulatorMode = "platform_certificate";

const FILES = {
  merchantKey: "merchant_private_key.pem",
  merchantCert: "merchant_certificate.pem",
  platformKey: "platform_private_key.pem",
  platformCert: "platform_certificate.pem",
  wechatpayKey: "wechatpay_private_key.pem",
  wechatpayPub: "wechatpay_public_key.pem",
} as const;

function generateRsaKey(): Promise<KeyObject> {
  return new Promise((done, fail) =>
    generateKeyPair("rsa", { modulusLength: 2048 }, (error, _publicKey, privateKey) =>
      error ? fail(error) : done(privateKey),
    ),
  );
}

const pkcs8 = (key: KeyObject) => key.export({ type: "pkcs8", format: "pem" }).toString();
const spki = (key: KeyObject) => key.export({ type: "spki", format: "pem" }).toString();

/** `PUB_KEY_ID_0114` + mchid + digits: 34 digits after the prefix, like the documented examples. */
function publicKeyId(mchid: string): string {
  let digits = `0114${mchid}`;
  while (digits.length < 34) digits += String(randomInt(10));
  return `PUB_KEY_ID_${digits.slice(0, 34)}`;
}

export interface PreparedKeys {
  file: SimulatorFileConfig;
  keys: SimulatorKeyMaterial;
  configPath: string | undefined;
}

interface GeneratedPems {
  merchantKey: string;
  merchantCert: string;
  platformKey: string;
  platformCert: string;
  wechatpayKey: string;
  wechatpayPub: string;
}

async function generatePems(mchid: string): Promise<GeneratedPems> {
  const [merchant, platform, wechatpay] = await Promise.all([generateRsaKey(), generateRsaKey(), generateRsaKey()]);
  return {
    merchantKey: pkcs8(merchant),
    merchantCert: createSelfSignedCertificate({
      privateKey: merchant,
      subject: { commonName: mchid, organization: "wxcoupon simulator merchant", country: "CN" },
    }),
    platformKey: pkcs8(platform),
    platformCert: createSelfSignedCertificate({
      privateKey: platform,
      subject: { commonName: "Tenpay.com Root CA (simulator)", organization: "wxcoupon simulator", country: "CN" },
    }),
    wechatpayKey: pkcs8(wechatpay),
    wechatpayPub: spki(createPublicKey(wechatpay)),
  };
}

function material(pems: GeneratedPems, apiv3Key: string): SimulatorKeyMaterial {
  const merchantPrivateKey = createPrivateKey(pems.merchantKey);
  const platformPrivateKey = createPrivateKey(pems.platformKey);
  const wechatpayPrivateKey = createPrivateKey(pems.wechatpayKey);
  return {
    merchantPrivateKeyPem: pems.merchantKey,
    merchantPrivateKey,
    merchantPublicKey: createPublicKey(pems.merchantCert),
    merchantCertificatePem: pems.merchantCert,
    platformPrivateKey,
    platformCertificatePem: pems.platformCert,
    platformPublicKey: createPublicKey(pems.platformCert),
    wechatpayPrivateKey,
    wechatpayPublicKeyPem: pems.wechatpayPub,
    wechatpayPublicKey: createPublicKey(pems.wechatpayPub),
    apiv3Key,
  };
}

function fileConfig(
  dir: string | undefined,
  pems: GeneratedPems,
  ids: { mchid: string; appid: string; apiv3Key: string; pubKeyId: string },
  mode: SimulatorMode,
): SimulatorFileConfig {
  const path = (name: string) => (dir ? join(dir, name) : "");
  return {
    base_url: "",
    mchid: ids.mchid,
    appid: ids.appid,
    merchant_serial_no: certificateSerial(pems.merchantCert),
    merchant_private_key: path(FILES.merchantKey),
    merchant_certificate: path(FILES.merchantCert),
    apiv3_key: ids.apiv3Key,
    wechatpay_public_key_id: ids.pubKeyId,
    wechatpay_public_key: path(FILES.wechatpayPub),
    platform_certificate_serial: certificateSerial(pems.platformCert),
    platform_certificate: path(FILES.platformCert),
    mode,
    simulator: { platform_private_key: path(FILES.platformKey), wechatpay_private_key: path(FILES.wechatpayKey) },
  };
}

async function writePrivate(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600); // writeFile's mode is ignored when the file already exists
}

/** Writes simulator.json atomically (it holds the APIv3 key, hence 0600). */
export async function writeConfigFile(configPath: string, config: SimulatorFileConfig): Promise<void> {
  const tmp = `${configPath}.tmp`;
  await writePrivate(tmp, `${JSON.stringify(config, null, 2)}\n`);
  await rename(tmp, configPath);
}

async function loadExisting(dir: string, configPath: string, mode: SimulatorMode | undefined): Promise<PreparedKeys> {
  let file: SimulatorFileConfig;
  try {
    file = JSON.parse(await readFile(configPath, "utf8")) as SimulatorFileConfig;
  } catch (cause) {
    throw new SimulatorError("CONFIG_UNREADABLE", `cannot read ${configPath}`, { cause });
  }
  // Relative paths (hand-edited files) are taken relative to the state directory.
  const at = (p: string) => resolve(dir, p);
  const read = (p: string) => readFile(at(p), "utf8");
  const pems: GeneratedPems = {
    merchantKey: await read(file.merchant_private_key),
    merchantCert: await read(file.merchant_certificate),
    platformKey: await read(file.simulator.platform_private_key),
    platformCert: await read(file.platform_certificate),
    wechatpayKey: await read(file.simulator.wechatpay_private_key),
    wechatpayPub: await read(file.wechatpay_public_key),
  };
  const next: SimulatorFileConfig = { ...file, mode: mode ?? file.mode ?? DEFAULT_MODE };
  return { file: next, keys: material(pems, file.apiv3_key), configPath };
}

/** Loads DIR/simulator.json and its PEMs, or generates everything on first start (or in memory without a DIR). */
export async function prepareKeys(
  stateDir: string | undefined,
  mode: SimulatorMode | undefined,
): Promise<PreparedKeys> {
  if (stateDir) {
    const dir = resolve(stateDir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const configPath = join(dir, CONFIG_FILE);
    const exists = await readFile(configPath, "utf8").then(
      () => true,
      () => false,
    );
    if (exists) return loadExisting(dir, configPath, mode);
    const created = await create(dir, mode ?? DEFAULT_MODE);
    await writeFiles(dir, created.pems);
    await writeConfigFile(configPath, created.file);
    return { file: created.file, keys: created.keys, configPath };
  }
  const created = await create(undefined, mode ?? DEFAULT_MODE);
  return { file: created.file, keys: created.keys, configPath: undefined };
}

async function create(dir: string | undefined, mode: SimulatorMode) {
  const pems = await generatePems(DEFAULT_MCHID);
  const apiv3Key = randomNonce(32);
  const ids = { mchid: DEFAULT_MCHID, appid: DEFAULT_APPID, apiv3Key, pubKeyId: publicKeyId(DEFAULT_MCHID) };
  return { pems, file: fileConfig(dir, pems, ids, mode), keys: material(pems, apiv3Key) };
}

async function writeFiles(dir: string, pems: GeneratedPems): Promise<void> {
  await writePrivate(join(dir, FILES.merchantKey), pems.merchantKey);
  await writePrivate(join(dir, FILES.platformKey), pems.platformKey);
  await writePrivate(join(dir, FILES.wechatpayKey), pems.wechatpayKey);
  await writeFile(join(dir, FILES.merchantCert), pems.merchantCert);
  await writeFile(join(dir, FILES.platformCert), pems.platformCert);
  await writeFile(join(dir, FILES.wechatpayPub), pems.wechatpayPub);
}
