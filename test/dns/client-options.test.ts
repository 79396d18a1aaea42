import { describe, expect, it } from 'vitest';
import {
  dnsClientOptionsFromResolvConf,
  dnsClientOptionsFromServerFlag,
} from '../../src/dns/client-options.js';
import { parseResolvConf } from '../../src/dns/resolv-conf.js';
import { formatServerAddress, parseServerAddress } from '../../src/dns/server-address.js';
import { ConfigError } from '../../src/errors.js';

describe('parseServerAddress', () => {
  it.each([
    ['10.96.0.10', { host: '10.96.0.10', port: 53 }],
    ['127.0.0.1:5353', { host: '127.0.0.1', port: 5353 }],
    [' 127.0.0.1:5353 ', { host: '127.0.0.1', port: 5353 }],
    ['::1', { host: '::1', port: 53 }],
    ['fd00::a', { host: 'fd00::a', port: 53 }],
    ['[::1]:5353', { host: '::1', port: 5353 }],
    ['[FD00::A]', { host: 'fd00::a', port: 53 }],
  ])('reads %j', (value, expected) => {
    expect(parseServerAddress(value)).toEqual(expected);
  });

  it.each([
    ['abc', /"abc" is not an IP address/],
    ['1.2.3.4:99999', /port 99999 is outside 1-65535/],
    ['1.2.3.4:0', /port 0 is outside/],
    ['1.2.3.4:x', /port "x" is not a number/],
    [':53', /the host is missing/],
    ['', /it is empty/],
    ['   ', /it is empty/],
    ['[::1', /"\[::1" is not an IP address|must be written/],
    ['[1.2.3.4]:53', /not an IPv6 address/],
    ['dns.example:53', /not an IP address/],
  ])('rejects %j with a ConfigError naming value and source', (value, why) => {
    let error: unknown;
    try {
      parseServerAddress(value, 'flag --dns-server');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(`flag --dns-server ${JSON.stringify(value)}`);
    expect((error as ConfigError).message).toMatch(why);
    expect(error).toMatchObject({ value, source: 'flag --dns-server', code: 'RDV_ERR_CONFIG' });
  });

  it('prints IPv6 servers in brackets', () => {
    expect(formatServerAddress({ host: '::1', port: 53 })).toBe('[::1]:53');
    expect(formatServerAddress({ host: '10.0.0.1', port: 5353 })).toBe('10.0.0.1:5353');
  });
});

describe('client options from resolv.conf and --dns-server', () => {
  it('takes nameservers in order, timeout in ms and attempts from resolv.conf', () => {
    const conf = parseResolvConf(
      'nameserver 10.96.0.10\nnameserver 127.0.0.1:5353\nnameserver ::1\noptions timeout:3 attempts:4 ndots:5\n',
    );
    expect(dnsClientOptionsFromResolvConf(conf, '/etc/resolv.conf')).toEqual({
      servers: [
        { host: '10.96.0.10', port: 53 },
        { host: '127.0.0.1', port: 5353 },
        { host: '::1', port: 53 },
      ],
      timeoutMs: 3000,
      attempts: 4,
    });
  });

  it('lets explicit values win over the file', () => {
    const conf = parseResolvConf('nameserver 10.96.0.10\n');
    expect(dnsClientOptionsFromResolvConf(conf, 'f', { timeoutMs: 100, attempts: 1 })).toMatchObject({
      timeoutMs: 100,
      attempts: 1,
    });
  });

  it('refuses a resolv.conf without nameservers, and names a bad one', () => {
    expect(() => dnsClientOptionsFromResolvConf(parseResolvConf('search a\n'), '/x/resolv.conf')).toThrow(
      /\/x\/resolv.conf lists no nameserver/,
    );
    expect(() => dnsClientOptionsFromResolvConf(parseResolvConf('nameserver dns.local\n'), '/x/r')).toThrow(
      /nameserver in \/x\/r "dns.local"/,
    );
  });

  it('reads one or several comma-separated --dns-server values', () => {
    expect(dnsClientOptionsFromServerFlag('127.0.0.1:5353,[::1]:53', 'flag --dns-server').servers).toEqual([
      { host: '127.0.0.1', port: 5353 },
      { host: '::1', port: 53 },
    ]);
    expect(() => dnsClientOptionsFromServerFlag('', 'flag --dns-server')).toThrow(ConfigError);
    expect(() => dnsClientOptionsFromServerFlag('1.2.3.4,', 'flag --dns-server')).toThrow(/it is empty/);
  });
});
