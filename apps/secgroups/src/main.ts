import 'reflect-metadata';
import { runService } from '@ncp/service-kit';
import { SecgroupsContext } from './context';

runService(SecgroupsContext);
