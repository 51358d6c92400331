import 'reflect-metadata';
import { runService } from '@ncp/service-kit';
import { IpamContext } from './context';

runService(IpamContext);
