export * from './keys';
export * from './names';
export * from './l2';
export * from './l3';
export * from './dhcp';
export * from './bgp';
export * from './metadata';
export * from './sg';
