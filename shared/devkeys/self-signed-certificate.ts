import { createPublicKey, type KeyObject, randomBytes, sign, X509Certificate } from "node:crypto";
import {
  bitString,
  explicit,
  nullValue,
  objectIdentifier,
  printableString,
  sequence,
  set,
  time,
  unsignedInteger,
  utf8String,
} from "./der.js";

const SHA256_WITH_RSA = sequence(objectIdentifier("1.2.840.113549.1.1.11"), nullValue());

export interface CertificateSubject {
  commonName: string;
  organization?: string;
  country?: string;
}

export interface SelfSignedCertificateOptions {
  privateKey: KeyObject;
  subject: CertificateSubject;
  /** Upper-case hex; WeChat serials are 40 hex characters. Random when omitted. */
  serialNumber?: string;
  notBefore?: Date;
  notAfter?: Date;
}

function distinguishedName({ commonName, organization, country }: CertificateSubject): Buffer {
  const rdn = (oid: string, value: Buffer) => set(sequence(objectIdentifier(oid), value));
  return sequence(
    ...(country ? [rdn("2.5.4.6", printableString(country))] : []),
    ...(organization ? [rdn("2.5.4.10", utf8String(organization))] : []),
    rdn("2.5.4.3", utf8String(commonName)),
  );
}

/** A random positive 20-byte serial, as upper-case hex (40 characters, like WeChat's). */
export function randomCertificateSerial(): string {
  const bytes = randomBytes(20);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10; // positive and exactly 20 significant bytes
  return bytes.toString("hex").toUpperCase();
}

/** Builds a self-signed X.509 v3 certificate (SHA256withRSA) for local and test use; returns PEM. */
export function createSelfSignedCertificate(options: SelfSignedCertificateOptions): string {
  const serialHex = options.serialNumber ?? randomCertificateSerial();
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 5 * 365 * 86_400_000);
  const name = distinguishedName(options.subject);
  const spki = createPublicKey(options.privateKey).export({ type: "spki", format: "der" });
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))), // v3
    unsignedInteger(Buffer.from(serialHex.padStart(serialHex.length + (serialHex.length % 2), "0"), "hex")),
    SHA256_WITH_RSA,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    spki,
  );
  const signature = sign("sha256", tbs, options.privateKey);
  const der = sequence(tbs, SHA256_WITH_RSA, bitString(signature));
  const body = der
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trimEnd();
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

/** Serial of a PEM certificate as WeChat prints it: upper-case hex without separators. */
export function certificateSerial(pem: string): string {
  return new X509Certificate(pem).serialNumber.replace(/:/g, "").toUpperCase();
}
