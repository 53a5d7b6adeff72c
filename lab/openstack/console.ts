// The serial console log of a lab VM, as a Debian 12 cloud image writes it: kernel lines, cloud-init's
// network table, and the SSH host key blocks exactly as cloud-init prints them (the fingerprints through
// `logger --stderr -t ec2`, hence the `<14>DATE ec2: ` prefix; the key lines plain). Every boot appends
// its own log, so a VM that rebooted shows the blocks again.
import type { LabHost } from '../world.js';

/** What the console needs to know about one boot. */
export interface BootRecord {
  at: number;
  kernel: string;
  first: boolean;
  /** The host's boot id of that boot (one log per boot). */
  bootId?: string;
}

function syslogDate(ms: number): string {
  // RFC 3164 timestamp: "Jan  5 09:03:07".
  const d = new Date(ms);
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const time = d.toISOString().slice(11, 19);
  return `${month} ${day} ${time}`;
}

function stamp(seconds: number): string {
  return `[${seconds.toFixed(6).padStart(12, ' ')}]`;
}

/** The console text of one boot. */
export function bootLog(host: Pick<LabHost, 'name' | 'address' | 'hostKey'>, mac: string, boot: BootRecord): string {
  const lines: string[] = [];
  const k = boot.kernel;
  lines.push(
    `${stamp(0)} Linux version ${k} (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.106-3 (2024-08-26)`,
    `${stamp(0)} Command line: BOOT_IMAGE=/boot/vmlinuz-${k} root=PARTUUID=6b2a3e7c-01 ro console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0`,
    `${stamp(0.000001)} BIOS-provided physical RAM map:`,
    `${stamp(1.204511)} Run /sbin/init as init process`,
    `${stamp(1.887203)} systemd[1]: systemd 252.30-1~deb12u2 running in system mode`,
    `${stamp(2.031227)} systemd[1]: Hostname set to <${host.name}>.`,
  );
  const ci = (t: number, text: string) => `${stamp(t)} cloud-init[512]: ${text}`;
  const started = new Date(boot.at).toUTCString().replace('GMT', '+0000');
  lines.push(ci(4.1, `Cloud-init v. 22.4.2 running 'init' at ${started}. Up 4.10 seconds.`));
  lines.push(ci(4.11, 'ci-info: ++++++++++++++++++++++++++++++++++++++Net device info+++++++++++++++++++++++++++++++++++++++'));
  lines.push(ci(4.11, 'ci-info: +--------+------+------------------------------+---------------+--------+-------------------+'));
  lines.push(ci(4.11, 'ci-info: | Device |  Up  |           Address            |      Mask     | Scope  |     Hw-Address    |'));
  lines.push(ci(4.11, 'ci-info: +--------+------+------------------------------+---------------+--------+-------------------+'));
  lines.push(ci(4.11, `ci-info: |  ens3  | True | ${host.address.padEnd(28)} | 255.255.0.0   | global | ${mac} |`));
  lines.push(ci(4.11, 'ci-info: |   lo   | True |          127.0.0.1           |   255.0.0.0   |  host  |         .         |'));
  lines.push(ci(4.11, 'ci-info: +--------+------+------------------------------+---------------+--------+-------------------+'));
  if (boot.first) {
    lines.push(ci(4.9, 'Generating public/private ed25519 key pair.'));
    lines.push(ci(4.9, 'Your identification has been saved in /etc/ssh/ssh_host_ed25519_key'));
    lines.push(ci(4.9, 'Your public key has been saved in /etc/ssh/ssh_host_ed25519_key.pub'));
    lines.push(ci(4.9, 'The key fingerprint is:'));
    lines.push(ci(4.9, `${host.hostKey.fingerprintSha256} root@${host.name}`));
  }
  lines.push(`${stamp(6.2)} cloud-init[640]: Cloud-init v. 22.4.2 running 'modules:config' at ${started}. Up 6.20 seconds.`);
  const tag = `<14>${syslogDate(boot.at + 7000)} ec2: `;
  lines.push(`${tag}`);
  lines.push(`${tag}#############################################################`);
  lines.push(`${tag}-----BEGIN SSH HOST KEY FINGERPRINTS-----`);
  lines.push(`${tag}256 ${host.hostKey.fingerprintSha256} root@${host.name} (ED25519)`);
  lines.push(`${tag}-----END SSH HOST KEY FINGERPRINTS-----`);
  lines.push(`${tag}#############################################################`);
  lines.push('-----BEGIN SSH HOST KEY KEYS-----');
  lines.push(`ssh-ed25519 ${host.hostKey.publicBase64} root@${host.name}`);
  lines.push('-----END SSH HOST KEY KEYS-----');
  lines.push(`${stamp(7.4)} cloud-init[702]: Cloud-init v. 22.4.2 finished at ${started}. Datasource DataSourceOpenStackLocal [net,ver=2].  Up 7.40 seconds`);
  lines.push('');
  lines.push(`Debian GNU/Linux 12 ${host.name} ttyS0`);
  lines.push('');
  lines.push(`${host.name} login: `);
  return lines.join('\n') + '\n';
}

/** The whole console log of a server: every boot's log, optionally only the last `length` lines. */
export function consoleLog(host: Pick<LabHost, 'name' | 'address' | 'hostKey'>, mac: string, boots: BootRecord[], length?: number): string {
  const text = boots.map((b) => bootLog(host, mac, b)).join('');
  if (length === undefined || length < 0) return text;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-length).join('\n') + (length > 0 ? '\n' : '');
}
