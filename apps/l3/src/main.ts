import 'reflect-metadata';
import { runService } from '@ncp/service-kit';
import { L3Context } from './context';

runService(L3Context);
