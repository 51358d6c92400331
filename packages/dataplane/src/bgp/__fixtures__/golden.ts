import { goldenFiles } from '../../__fixtures__/golden.js';

export const expectGolden = goldenFiles('bgp');
