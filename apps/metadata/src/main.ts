import 'reflect-metadata';
import { runService } from '@ncp/service-kit';
import { MetadataContext } from './context';

runService(MetadataContext);
