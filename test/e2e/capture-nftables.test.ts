// Transparent capture with REDIRECT installed by nftables (see test/helpers/capture-lab.ts).
import { captureTests } from '../helpers/capture-lab.ts';

captureTests('nftables');
