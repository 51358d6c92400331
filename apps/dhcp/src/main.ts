import 'reflect-metadata';
import { runService } from '@ncp/service-kit';
import { DhcpContext } from './context';

runService(DhcpContext);
