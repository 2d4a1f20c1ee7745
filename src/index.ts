#!/usr/bin/env node
import { startFromBundle } from './boot.js';

// The modules when no current bundle was built (src/boot.ts says why there is one).
if (!startFromBundle(__dirname)) require('./cli/run.js');
