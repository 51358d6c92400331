/**
 * What names and ids in desired state may look like. The services check what they publish and
 * the agent checks what it reads with the same rules, and the kernel drivers check again
 * before a name reaches a command line.
 */

// IFNAMSIZ is 16 including the NUL, so 15 visible characters; the character set keeps names
// unambiguous as command arguments (no leading option dash is possible with `dev NAME`, and
// "/" or whitespace never reach a path or a word split).
const LINK_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
// `ip netns` names become files under /var/run/netns: same character set, no "/" or "..".
const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
// Neutron ids are UUIDs; we accept the GUID form (any version/variant nibble) because test
// fixtures and imported data use ids such as 11111111-1111-....
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// A leading "-" would read as an option to ip (`ip netns add -all`), "." and ".." as paths.
const refused = (name: string): boolean => name.startsWith('-') || name === '.' || name === '..';

export function isValidLinkName(name: string): boolean {
  return typeof name === 'string' && LINK_NAME.test(name) && !refused(name);
}

export function isValidNetnsName(name: string): boolean {
  return typeof name === 'string' && NETNS_NAME.test(name) && !refused(name);
}

export function isValidId(id: string): boolean {
  return typeof id === 'string' && UUID.test(id);
}
