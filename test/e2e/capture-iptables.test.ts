// Transparent capture with REDIRECT installed by iptables (see test/helpers/capture-lab.ts).
import { captureTests } from '../helpers/capture-lab.ts';

captureTests('iptables');
