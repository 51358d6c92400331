export { default } from '../../vitest.base.mts';
