import 'reflect-metadata';
import { runService } from '@ncp/service-kit';
import { BgpContext } from './context';

runService(BgpContext);
