import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { knownHostsName, verifyHostKey } from '../../src/run/known-hosts.js';

const key = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyBlobForTests0000000000000000', 'base64');
const other = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyBlobForTests00000000000000000', 'base64');
const b64 = (b: Buffer) => b.toString('base64');

function hashed(name: string): string {
  const salt = Buffer.from('0123456789abcdef0123');
  return `|1|${b64(salt)}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  it('names a host as OpenSSH records it', () => {
    expect(knownHostsName('bastion.example', 22)).toBe('bastion.example');
    expect(knownHostsName('10.0.0.5', 2222)).toBe('[10.0.0.5]:2222');
  });

  it('accepts the recorded key, plain or hashed, among several names', () => {
    expect(verifyHostKey(`# comment\nother,bastion.example ssh-ed25519 ${b64(key)} me@host\n`, 'bastion.example', 22, key)).toBe('known');
    expect(verifyHostKey(`${hashed('[10.0.0.5]:2222')} ssh-ed25519 ${b64(key)}\n`, '10.0.0.5', 2222, key)).toBe('known');
    expect(verifyHostKey(`BASTION.example ssh-ed25519 ${b64(key)}\n`, 'bastion.example', 22, key)).toBe('known');
  });

  it('tells a changed key from an unknown host, and honours @revoked', () => {
    expect(verifyHostKey(`bastion.example ssh-ed25519 ${b64(other)}\n`, 'bastion.example', 22, key)).toBe('changed');
    expect(verifyHostKey(`bastion.example ssh-ed25519 ${b64(key)}\n`, 'bastion.example', 2222, key)).toBe('unknown');
    expect(verifyHostKey(`${hashed('elsewhere')} ssh-ed25519 ${b64(key)}\n`, 'bastion.example', 22, key)).toBe('unknown');
    expect(verifyHostKey('', 'bastion.example', 22, key)).toBe('unknown');
    const revoked = `@revoked * ssh-ed25519 ${b64(key)}\nbastion.example ssh-ed25519 ${b64(key)}\n`;
    expect(verifyHostKey(revoked, 'bastion.example', 22, key)).toBe('revoked');
    expect(verifyHostKey(`@cert-authority *.example ssh-ed25519 ${b64(key)}\n`, 'bastion.example', 22, key)).toBe('unknown');
  });
});

describe('known_hosts patterns', () => {
  it('matches * and ? wildcards and excludes !negated names', () => {
    expect(verifyHostKey(`*.example ssh-ed25519 ${b64(key)}\n`, 'bastion.example', 22, key)).toBe('known');
    expect(verifyHostKey(`bastion?.example ssh-ed25519 ${b64(key)}\n`, 'bastion1.example', 22, key)).toBe('known');
    expect(verifyHostKey(`*.example,!bastion.example ssh-ed25519 ${b64(key)}\n`, 'bastion.example', 22, key)).toBe('unknown');
    expect(verifyHostKey(`bastion.example ssh-ed25519 ${b64(key)}\n`, 'bastionXexample', 22, key)).toBe('unknown');
  });
});
